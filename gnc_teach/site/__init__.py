"""The course as a website (``gnc-teach site build``) and as a live app (``gnc-teach app``).

``build``: stage lessons, exercises and pages, then Sphinx with myst-nb; ``notebooks`` and ``pages``:
what the site shows; ``app``: the Voilà dashboard of every explorer; ``cli``: the light command-line
registration (heavy imports happen in ``run``).
"""
