"""What every explorer shares: the check that a view dict is one its drawing functions can read, and
showing a figure in the widget's output area."""
from __future__ import annotations

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
    """Display ``fig`` in ``out`` when running in IPython; always close it (no figure leak)."""
    try:
        from IPython import get_ipython
        from IPython.display import display
        if get_ipython() is not None:
            out.clear_output(wait=True)
            with out:
                display(fig)
    finally:
        plt.close(fig)
