"""Kernel-free twins of the explorers: the same pure functions, precomputed over a grid of the controls
and drawn with plotly, so that the course website responds without a kernel (``twin.to_html()``) and a
notebook shows a rotatable plotly figure. Which twin belongs to which explorer: ``views.registry``."""
from .figures import code_figure  # noqa: F401
from .twin import Control, Twin  # noqa: F401
