"""Twin of the code explorer (lesson 02): the gallery's softmax / Tammes / Thomson codes over K and d.

Every state is :func:`gnc_teach.views.widgets.code_explorer.code_view` (read from the shipped gallery,
``gnc_teach/data/gallery.npz``) with the explorer's caption :func:`code_label`; d = 3 codes are drawn
on a sphere that the reader can rotate.
"""
from __future__ import annotations

from .figures import circle_trace, code_axes, code_traces, sphere_trace
from .twin import Control, Twin

__all__ = ["code_twin", "code_state"]


def code_state(kind: str, d: int, K: int) -> dict:
    """The twin's state: the code on the circle / sphere, titled like the widget, captioned with its numbers."""
    from ..._tensor import check_int
    from ..widgets.code_explorer import code_label, code_view
    view = code_view(kind, K, check_int(d, "d", minimum=2, maximum=3))
    title = f"{kind}: K={K}, d={d}, ρ={view['rho']:.4f}, min angle {view['min_angle']:.2f}°"
    return dict(data=["circle" if d == 2 else "sphere"] + code_traces(view["W"]),
                layout=dict(code_axes(d), title=dict(text=title)), html=code_label(view))


def code_twin(kind: str = "softmax", K: int = 8, d: int = 3, *, max_K: int | None = None) -> Twin:
    """Kernel-free twin of :func:`~gnc_teach.views.widgets.code_explorer`: objective × d ∈ {2, 3} × K = 2..max_K
    (default: the gallery's range)."""
    from ...gallery import GRID, KINDS
    from ..._tensor import check_int
    top = min(GRID[2], GRID[3])
    max_K = top if max_K is None else check_int(max_K, "max_K", minimum=2, maximum=top)  # the gallery's range
    K, d = check_int(K, "K", minimum=2), check_int(d, "d", minimum=2, maximum=3)  # K beyond max_K: the nearest
    controls = [Control("kind", "objective", tuple(KINDS), kind="select"),
                Control("d", "d", (2, 3), kind="select"),
                Control("K", "K", tuple(range(2, max_K + 1)))]
    return Twin.build("code explorer", controls, code_state, initial=dict(kind=kind, K=K, d=d),
                      shared=dict(circle=circle_trace(), sphere=sphere_trace()),
                      layout=dict(height=460, margin=dict(l=40, r=20, t=60, b=40), uirevision="keep"),
                      note="Codes from the shipped gallery (best found unless marked proved optimal); "
                           "drag a 3-D code to rotate it.")
