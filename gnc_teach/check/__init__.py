"""Exercise self-checks, one module per lesson, all re-exported here: ``check.ufm_training(...)``.

Each check prints and returns a :class:`CheckResult`. It says what is wrong and gives a hint, never
the answer, and never crashes on a wrong type or shape. While nbgrader grades a notebook, or with
``GNC_TEACH_STRICT_CHECKS=1``, a failed check raises :class:`CheckFailed` instead, so that its cell fails.
"""
from ._core import CheckFailed, CheckResult, checker  # noqa: F401
from .lesson01 import *  # noqa: F401,F403
from .lesson02 import *  # noqa: F401,F403
from .lesson03 import *  # noqa: F401,F403
from .lesson04 import *  # noqa: F401,F403
from .lesson05 import *  # noqa: F401,F403
from .lesson06 import *  # noqa: F401,F403
from .lesson07 import *  # noqa: F401,F403
