"""Private solver internals behind :mod:`gnc_teach.margins` and :mod:`gnc_teach.codes`.

``active_set`` and ``wolfe`` compute nearest hull points (the one-vs-rest distance); ``sphere_opt``
(torch) and ``sphere_kernels`` (numba) run the smooth phase of the code solvers; ``polish`` finishes
codes exactly (SLSQP, L-BFGS) and writes their KKT certificates, ``slp`` by sequential linear programming
(any size); ``anytime`` runs the rounds of the budgeted searches. Nothing here is public API.
"""
