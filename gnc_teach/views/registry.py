"""The explorers of the course, one entry each: the lesson that shows it, its live ipywidgets builder
and its kernel-free twin. The course website (``gnc-teach site build``), the live app (``gnc-teach app``)
and the browser tests all read this table, so a new explorer plugs in with one entry::

    "width_explorer": Explorer("08", "Width explorer",
                               widget="gnc_teach.views.widgets.width_explorer:width_explorer",
                               twin="gnc_teach.views.twins.width:width_twin"),

(a made-up example). The key is the name a lesson cell calls (``width_explorer(...)``): the site
replaces that cell's widget output with the twin, called with the cell's literal keyword arguments that
the twin accepts.
Builders are named ``"module:function"`` and imported only when used, so this module stays light.
"""
from __future__ import annotations

import ast
import importlib
import inspect
import re
from dataclasses import dataclass

__all__ = ["Explorer", "EXPLORERS", "explorer_calls", "load"]


def _target(target, name: str = "target") -> tuple[str, str]:
    if not isinstance(target, str):
        raise TypeError(f"{name} must be a string 'package.module:function', got {type(target).__name__}.")
    if not re.fullmatch(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*", target):
        raise ValueError(f"{name} must be 'package.module:function', e.g. "
                         f"'gnc_teach.views.widgets.etf_explorer:etf_explorer', got {target!r}.")
    module, _, function = target.partition(":")
    return module, function


@dataclass(frozen=True)
class Explorer:
    """``lesson``: "NN" of the lesson showing it; ``widget`` / ``twin``: ``"module:function"`` builders (no
    required arguments); ``title``: shown in the app and on the site."""
    lesson: str
    title: str
    widget: str
    twin: str

    def __post_init__(self):
        if not (isinstance(self.lesson, str) and re.fullmatch(r"\d\d", self.lesson)):
            raise ValueError(f"lesson must be the lesson's two-digit number such as '06', got {self.lesson!r}.")
        if not isinstance(self.title, str):
            raise TypeError(f"title must be a string, got {type(self.title).__name__}.")
        for name in ("widget", "twin"):
            _target(getattr(self, name), name)

    def build_widget(self, **kwargs):
        """The live ipywidgets explorer."""
        return load(self.widget)(**kwargs)

    def build_twin(self, arguments: dict | None = None):
        """The kernel-free twin, started where the widget call with ``arguments`` (from
        :func:`explorer_calls`) starts; arguments the twin does not take are dropped (a lesson may pass
        ``draw=False`` or a size to the widget that the twin has no use for)."""
        builder = load(self.twin)
        accepted = inspect.signature(builder).parameters
        return builder(**{k: v for k, v in self.named(arguments or {}).items() if k in accepted})

    def named(self, arguments: dict) -> dict:
        """``arguments`` with positional ones (int keys, from :func:`explorer_calls`) renamed after the
        widget's parameters."""
        if not any(isinstance(k, int) for k in arguments):
            return dict(arguments)
        params = [p.name for p in inspect.signature(load(self.widget)).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        return {(params[k] if isinstance(k, int) and k < len(params) else k): v for k, v in arguments.items()
                if not isinstance(k, int) or k < len(params)}


EXPLORERS: dict[str, Explorer] = {
    "etf_explorer": Explorer("01", "Simplex ETF explorer", widget="gnc_teach.views.widgets.etf_explorer:etf_explorer",
                             twin="gnc_teach.views.twins.etf:etf_twin"),
    "margin_explorer": Explorer("02", "Margin explorer",
                                widget="gnc_teach.views.widgets.margin_explorer:margin_explorer",
                                twin="gnc_teach.views.twins.margins:margin_twin"),
    "code_explorer": Explorer("02", "Code explorer", widget="gnc_teach.views.widgets.code_explorer:code_explorer",
                              twin="gnc_teach.views.twins.codes:code_twin"),
    "tau_explorer": Explorer("03", "τ explorer", widget="gnc_teach.views.widgets.tau_explorer:tau_explorer",
                             twin="gnc_teach.views.twins.tau:tau_twin"),
    "hug_explorer": Explorer("06", "HUG explorer", widget="gnc_teach.views.widgets.hug_explorer:hug_explorer",
                             twin="gnc_teach.views.twins.hug:hug_twin"),
    "imbalance_explorer": Explorer("07", "Imbalance explorer",
                                   widget="gnc_teach.views.widgets.imbalance_explorer:imbalance_explorer",
                                   twin="gnc_teach.views.twins.imbalance:imbalance_twin"),
}


def load(target: str):
    """Import ``"module:function"`` and return the function."""
    module, name = _target(target)
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"target={target!r} cannot be loaded: {exc}") from None


def _python(source: str) -> str:
    # IPython magics and shell escapes are not Python: blank them so that ast can parse the rest
    return "\n".join("" if re.match(r"\s*[%!]", line) else line for line in source.splitlines())


def explorer_calls(source: str, names=None) -> list[tuple[str, dict]]:
    """``[(name, literal arguments)]`` for each call of a registered explorer in a code cell's ``source``
    (``names``: default the keys of :data:`EXPLORERS`), in source order. Arguments are a dict: keyword
    names, and positions (int keys) for positional ones; non-literal ones are left out (the twin then
    uses its defaults)."""
    if not isinstance(source, str):
        raise TypeError(f"source must be a code cell's text (str), got {type(source).__name__}.")
    if names is not None and (isinstance(names, (str, bytes)) or not hasattr(names, "__iter__")):
        raise TypeError(f"names must be a collection of explorer names, got {type(names).__name__} {names!r:.40}.")
    names = set(EXPLORERS if names is None else names)
    try:
        tree = ast.parse(_python(source))
    except SyntaxError:
        return []
    calls = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
            if name in names:
                kwargs = {}
                for i, arg in enumerate(node.args):
                    try:
                        kwargs[i] = ast.literal_eval(arg)
                    except ValueError:
                        pass
                for kw in node.keywords:
                    if kw.arg is None:
                        continue
                    try:
                        kwargs[kw.arg] = ast.literal_eval(kw.value)
                    except ValueError:
                        pass
                calls.append((node.lineno, node.col_offset, name, kwargs))
    return [(name, kwargs) for _, _, name, kwargs in sorted(calls)]
