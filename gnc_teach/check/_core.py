"""The self-check framework behind ``gnc_teach.check``.

A check never crashes: whatever the student passes (a wrong type, a stub that raises
``NotImplementedError``, a function that returns garbage), it answers with a short message.
With the environment variable ``GNC_TEACH_STRICT_CHECKS=1`` (set by the test suite), a failed check
raises ``AssertionError`` so that solution notebooks fail loudly under nbval.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass

PASS, FAIL = "✅", "❌"


@dataclass(frozen=True)
class CheckResult:
    """Outcome of one self-check: ``passed`` and a one-line ``message`` (what is wrong, plus a hint)."""

    name: str
    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        return f"{PASS if self.passed else FAIL} {self.name}: {self.message}"

    def _repr_html_(self) -> str:
        colour = "#1a7f37" if self.passed else "#b42318"
        return f'<span style="color:{colour}">{str(self)}</span>'


class Fail(Exception):
    """Raised inside a check body to report a specific failure message."""


def call_student(fn, *args, **kwargs):
    """Call the student's function, turning its exceptions into friendly :class:`Fail` messages."""
    if not callable(fn):
        raise Fail(f"expected a function, got {type(fn).__name__}. Pass the function itself, without ().")
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        raise Fail("not implemented yet: replace the `raise NotImplementedError` stub with your code.")
    except Fail:
        raise
    except Exception as exc:  # the student's bug, reported, not re-raised
        raise Fail(f"your function raised {type(exc).__name__}: {exc}") from None


def checker(fn):
    """Decorate a check body ``fn(*args) -> str`` (the success message) that raises :class:`Fail`.

    The wrapper prints and returns a :class:`CheckResult`; any unexpected exception in the body is
    reported as a failure, never propagated (unless strict mode is on and the check failed).
    """
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            result = CheckResult(fn.__name__, True, fn(*args, **kwargs) or "correct.")
        except Fail as exc:
            result = CheckResult(fn.__name__, False, str(exc))
        except NotImplementedError:
            result = CheckResult(fn.__name__, False, "not implemented yet: replace the stub with your code.")
        except Exception as exc:  # a check must never crash on student input
            result = CheckResult(fn.__name__, False,
                                 f"could not check this answer ({type(exc).__name__}: {exc}).")
        print(result)
        if not result.passed and os.environ.get("GNC_TEACH_STRICT_CHECKS") == "1":
            raise AssertionError(str(result))
        return result

    return wrapper
