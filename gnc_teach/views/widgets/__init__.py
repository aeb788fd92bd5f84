"""ipywidgets explorers: thin views over pure functions of the package.

Each explorer is a function that returns a widget and can be called with no arguments. Its
computation lives in a pure function (tested headlessly); the widget only wires controls with
``observe`` and redraws.
"""
from .etf_explorer import etf_explorer, etf_view  # noqa: F401
from .tau_explorer import tau_explorer, tau_view  # noqa: F401
from .code_explorer import code_explorer, code_view  # noqa: F401
from .margin_explorer import margin_explorer, margin_view  # noqa: F401
from .hug_explorer import hug_explorer, hug_view  # noqa: F401
from .imbalance_explorer import imbalance_explorer, imbalance_view  # noqa: F401
