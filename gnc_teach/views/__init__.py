"""Views: static figures (``plotting``) and ipywidgets explorers (``widgets``). Views only call the
pure functions below them; nothing in the package imports a view except the lessons."""
