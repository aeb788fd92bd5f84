"""What every explorer shares: the check that a view dict is one its drawing functions can read, and
showing a figure in the widget's output area."""
from __future__ import annotations

import base64
import io

__all__ = ["check_view", "show"]


def check_view(view, keys, *, made_by: str) -> dict:
    """``view`` if it is a dict with every key in ``keys`` (the dict ``made_by`` returns); else a
    TypeError/ValueError naming ``view``, instead of a KeyError deep inside a label or a figure."""
    if not isinstance(view, dict):
        raise TypeError(f"view must be the dict returned by {made_by}, got {type(view).__name__}.")
    missing = [k for k in keys if k not in view]
    if missing:
        raise ValueError(f"view lacks {missing}: pass the dict returned by {made_by}.")
    return view


def show(out, fig, plt):
    """Show ``fig`` (as a PNG) in the Output widget ``out`` when running in IPython; always close it (no
    figure leak).

    The figure replaces ``out.outputs`` in one state update, instead of being displayed inside
    ``with out:``. That context sets the widget's ``msg_id`` and routes the display through the kernel's
    output capture; a notebook runner (nbclient, which Voilà and nbval use) then syncs the Output widget
    back to the kernel over the shell channel while it waits there for the cell's reply, and under CPU load
    that exchange was seen to hang the cell forever (reproduced with ``jupyter nbconvert --execute`` while
    another process computed). Direct assignment needs no capture and no reply."""
    try:
        from IPython import get_ipython
        if get_ipython() is not None:
            buf = io.BytesIO()
            fig.savefig(buf, format="png", bbox_inches="tight")
            data = {"image/png": base64.b64encode(buf.getvalue()).decode("ascii"), "text/plain": repr(fig)}
            out.outputs = ({"output_type": "display_data", "data": data, "metadata": {}},)
    finally:
        plt.close(fig)
