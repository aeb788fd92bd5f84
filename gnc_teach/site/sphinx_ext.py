"""Sphinx extension of the course website: plotly.js and the twin runtime only on pages with twins.

plotly.min.js is ~4.8 MB, so it is added per page (``html-page-context``) rather than to every page.
"""
from __future__ import annotations


def _twin_assets(app, pagename, templatename, context, doctree):
    if doctree is not None and 'class="gnc-twin"' in context.get("body", ""):
        app.add_js_file("plotly.min.js", priority=400)
        app.add_js_file("gnc-twin.js", priority=401)


def setup(app):
    app.connect("html-page-context", _twin_assets)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
