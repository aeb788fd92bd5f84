"""gnc_teach: helpers for the lessons on neural collapse and generalized neural collapse.

Layers, in dependency order: ``geometry`` → ``margins`` → ``codes`` (solvers; their private internals
live in ``_solvers``) → ``metrics`` → ``models`` (one module per model family: ``models.ufm``) →
``views`` (``views.plotting``, ``views.widgets``). ``check`` holds the exercise self-checks and
``exercises`` the generator that turns solution notebooks into exercise notebooks.
"""
from ._tensor import default_device
from .geometry import (cross_polytope, gram, is_simplex_etf, max_cos, min_angle, normalize_rows,
                       random_rotation, random_sphere, regular_polygon, simplex_bound, simplex_etf)
from .margins import OneVsRest, known_rho_star, one_vs_rest_distance, rho_lower_bound, rho_upper_bound
from .codes import CodeResult, describe_code, riesz_energy, softmax_code, tammes_code, thomson_code
from .models.ufm import UFMResult, train_spherical_ufm, train_ufm
from .metrics import class_means, code_distance, gnc1, gnc2, gnc3, nc1, nc2, nc3, nc4, within_class_spread
from .views.plotting import plot_code, plot_gram, plot_history
from . import certify  # noqa: F401  (lesson 04: Riemannian and duality certificates)

__version__ = "0.1.0"
