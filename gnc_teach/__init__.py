"""gnc_teach: helpers for the lessons on neural collapse and generalized neural collapse.

Layers, in dependency order: ``geometry`` → ``margins`` → ``codes`` (solvers; their private internals
live in ``_solvers``) → ``metrics`` → ``models`` (one module per model family: ``models.ufm``) →
``views`` (``views.plotting``, ``views.widgets``). ``check`` holds the exercise self-checks and
``exercises`` the generator that turns solution notebooks into exercise notebooks.

The names below are imported on first use (PEP 562), so ``import gnc_teach`` and the ``gnc-teach``
command start without loading torch; ``gnc_teach.softmax_code`` or ``from gnc_teach import gram`` load
what they need.
"""
import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "._tensor": ["default_device"],
    ".geometry": ["cross_polytope", "gram", "is_simplex_etf", "max_cos", "min_angle", "normalize_rows",
                  "random_rotation", "random_sphere", "regular_polygon", "simplex_bound", "simplex_etf"],
    ".margins": ["OneVsRest", "known_rho_star", "one_vs_rest_distance", "rho_lower_bound", "rho_upper_bound"],
    ".codes": ["CodeResult", "describe_code", "riesz_energy", "softmax_code", "tammes_code", "thomson_code"],
    ".models.ufm": ["UFMResult", "train_spherical_ufm", "train_ufm"],
    ".metrics": ["class_means", "code_distance", "gnc1", "gnc2", "gnc3", "nc1", "nc2", "nc3", "nc4",
                 "within_class_spread"],
    ".views.plotting": ["plot_code", "plot_gram", "plot_history"],
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_WHERE) + ["certify"]


def __getattr__(name):
    if name in _WHERE:
        value = getattr(importlib.import_module(_WHERE[name], __name__), name)
        globals()[name] = value
        return value
    if not name.startswith("__"):
        try:  # a submodule: gnc_teach.certify, gnc_teach.check, ...
            return importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
