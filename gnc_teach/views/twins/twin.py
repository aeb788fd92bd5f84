"""A kernel-free twin: an explorer's figures precomputed over a grid of its controls.

A :class:`Twin` holds the controls (each a list of values), one plotly figure per combination of
values (a *state*: traces, layout overrides and an HTML caption) and traces shared by many states
(a sphere, a circle), stored once. ``to_html()`` writes it as a ``<div class="gnc-twin">`` holding its
JSON; ``twin.js`` (next to this module, copied into the site) draws the controls and, on every change,
redraws the precomputed state with ``Plotly.react``: no kernel and no maths in the browser.
In JupyterLab a twin displays as a plotly figure of its current state (rotatable in 3-D).
"""
from __future__ import annotations

import html
import itertools
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Control", "Twin", "TWIN_JS", "PLOTLY_MIME", "plotly_config", "merge_layout"]

TWIN_JS = Path(__file__).with_name("twin.js")
PLOTLY_MIME = "application/vnd.plotly.v1+json"


def plotly_config() -> dict:
    """The plotly.js config every twin uses: no logo, no link to an online editor."""
    return {"displaylogo": False, "responsive": True, "showLink": False}


def merge_layout(base: dict, over: dict) -> dict:
    """``base`` updated by ``over``, one level deep (``{"yaxis2": {"range": ...}}`` keeps the axis title);
    twin.js merges the same way."""
    for name, value in (("base", base), ("over", over)):
        if not isinstance(value, dict):
            raise TypeError(f"{name} must be a plotly layout dict, got {type(value).__name__}.")
    out = dict(base)
    for key, value in over.items():
        out[key] = {**base[key], **value} if isinstance(value, dict) and isinstance(base.get(key), dict) else value
    return out


@dataclass(frozen=True)
class Control:
    """One control of a twin: a slider (``kind="slider"``) or a dropdown (``kind="select"``) over ``values``,
    shown with ``labels`` (default ``str(value)``)."""
    name: str
    label: str
    values: tuple
    kind: str = "slider"
    labels: tuple = ()

    def __post_init__(self):
        for key in ("name", "label"):
            if not isinstance(getattr(self, key), str):
                raise TypeError(f"Control {key} must be a string, got {type(getattr(self, key)).__name__}.")
        if self.kind not in ("slider", "select"):
            raise ValueError(f"Control kind={self.kind!r}; use 'slider' or 'select'.")
        if not isinstance(self.values, tuple) or not self.values:
            raise ValueError(f"Control {self.name!r}: values must be a non-empty tuple, got {self.values!r:.60}.")
        if not isinstance(self.labels, tuple) or (self.labels and len(self.labels) != len(self.values)):
            raise ValueError(f"Control {self.name!r}: labels must be a tuple of one label per value "
                             f"({len(self.values)}), got {self.labels!r:.60}.")

    def index(self, value) -> int:
        """Position of ``value`` (or the nearest numeric value) in ``values``."""
        if value in self.values:
            return self.values.index(value)
        numeric = [i for i, v in enumerate(self.values) if isinstance(v, (int, float))]
        if not numeric or not isinstance(value, (int, float)):
            raise ValueError(f"{self.name}={value!r} is not one of {list(self.values)}.")
        return min(numeric, key=lambda i: abs(self.values[i] - value))

    def spec(self) -> dict:
        labels = self.labels or tuple(str(v) for v in self.values)
        return dict(name=self.name, label=self.label, kind=self.kind, labels=list(labels))


@dataclass
class Twin:
    """Precomputed states of an explorer. ``states`` maps a tuple of control indices to a dict
    ``{"data": [trace dict or shared-trace name], "layout": {...}, "html": "caption"}``; a trace dict
    with ``"_base": name`` extends the shared trace ``name`` (its style, stored once). ``layout`` holds
    what all states share; a state's layout updates it one level deep (:func:`merge_layout`)."""
    title: str
    controls: list[Control]
    states: dict
    layout: dict = field(default_factory=dict)
    shared: dict = field(default_factory=dict)
    initial: tuple = ()
    note: str = ""

    def __post_init__(self):
        if not isinstance(self.controls, list) or not all(isinstance(c, Control) for c in self.controls):
            raise TypeError("controls must be a list of Control.")
        if not isinstance(self.states, dict):
            raise TypeError(f"states must be a dict {{control indices: state}}, got {type(self.states).__name__}.")
        expected = set(itertools.product(*(range(len(c.values)) for c in self.controls)))
        missing = expected - set(self.states)
        if missing:
            raise ValueError(f"twin {self.title!r} lacks {len(missing)} states, e.g. {sorted(missing)[0]}.")
        if not self.initial:
            self.initial = tuple(0 for _ in self.controls)

    @classmethod
    def build(cls, title: str, controls: list[Control], state, *, initial: dict | None = None, **kw) -> "Twin":
        """Evaluate ``state(**{control.name: value})`` at every combination of the controls' values.

        ``initial``: the control values shown first (nearest grid value for numbers).
        """
        states = {}
        for idx in itertools.product(*(range(len(c.values)) for c in controls)):
            states[idx] = state(**{c.name: c.values[i] for c, i in zip(controls, idx)})
        init = initial or {}
        start = tuple(c.index(init[c.name]) if c.name in init else 0 for c in controls)
        return cls(title, controls, states, initial=start, **kw)

    def __len__(self) -> int:
        return len(self.states)

    def state_figure(self, idx=None) -> dict:
        """The plotly figure dict ``{"data", "layout"}`` of the state at control indices ``idx``."""
        st = self.states[tuple(self.initial if idx is None else idx)]
        data = [self._trace(t) for t in st["data"]]
        return {"data": data, "layout": merge_layout(self.layout, st.get("layout", {}))}

    def _trace(self, t):
        """A state's trace: a shared trace by name, or a dict whose ``"_base"`` names a shared trace it extends."""
        if isinstance(t, str):
            return self.shared[t]
        if "_base" in t:
            return {**self.shared[t["_base"]], **{k: v for k, v in t.items() if k != "_base"}}
        return t

    def figure(self, **values):
        """A ``plotly.graph_objects.Figure`` of the state at the given control values (default: initial)."""
        import plotly.graph_objects as go
        idx = list(self.initial)
        for i, c in enumerate(self.controls):
            if c.name in values:
                idx[i] = c.index(values[c.name])
        return go.Figure(self.state_figure(tuple(idx)))

    def spec(self) -> dict:
        """The JSON that ``twin.js`` reads."""
        return dict(title=self.title, note=self.note, controls=[c.spec() for c in self.controls],
                    initial=list(self.initial), layout=self.layout, shared=self.shared,
                    config=plotly_config(),
                    states={"|".join(map(str, k)): v for k, v in self.states.items()})

    def to_html(self) -> str:
        """``<div class="gnc-twin">`` with the spec as JSON; needs plotly.js and twin.js on the page."""
        text = json.dumps(self.spec(), separators=(",", ":"), allow_nan=False)
        text = text.replace("</", "<\\/")  # never close the <script> early
        uid = uuid.uuid4().hex[:10]
        return (f'<div class="gnc-twin" id="gnc-twin-{uid}" data-title="{html.escape(self.title)}">'
                f'<script type="application/json" class="gnc-twin-spec">{text}</script></div>')

    def _repr_mimebundle_(self, include=None, exclude=None):
        # JupyterLab renders the plotly mimetype itself (rotatable 3-D); no plotly.js copy in the notebook
        return {PLOTLY_MIME: self.state_figure(), "text/plain": f"<{self.title}: {len(self)} precomputed states>"}
