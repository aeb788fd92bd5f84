"""The install metadata stays consistent: pyproject.toml and environment.yml list the same packages."""
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONDA_TO_PIP = {"pytorch": "torch"}  # conda-forge names that differ from PyPI names


def _name(spec: str) -> str:
    return re.split(r"[<>=!~\[ ;]", spec.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _pyproject():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return data["project"]


def _environment_specs():
    specs, in_deps = [], False
    for line in (ROOT / "environment.yml").read_text().splitlines():
        line = line.split("#", 1)[0].rstrip()
        if re.match(r"^\S", line):  # a top-level key: only `dependencies:` lists packages
            in_deps = line.startswith("dependencies:")
            continue
        if re.match(r"^\s+- pip:\s*$", line):  # packages conda-forge lacks are listed for pip below
            continue
        m = re.match(r"^\s+- (\S.*)$", line)
        if m and in_deps and not m.group(1).startswith("-"):  # pip options (-e .) are not packages
            specs.append(m.group(1).strip())
    return specs


def _expand(specs, extras):
    """``specs`` with each self-reference ``gnc-teach[extra]`` replaced by that extra's packages."""
    out = []
    for spec in specs:
        m = re.match(r"^gnc-teach\[(\w+)\]$", spec.strip())
        out += _expand(extras[m.group(1)], extras) if m else [spec]
    return out


def test_environment_and_pyproject_list_the_same_packages():
    project = _pyproject()
    extras = project["optional-dependencies"]
    pip_names = {_name(s) for s in project["dependencies"] + _expand(extras["test"], extras)}
    conda_names = {CONDA_TO_PIP.get(_name(s), _name(s)) for s in _environment_specs()} - {"python", "pip"}
    assert pip_names == conda_names, (
        f"only in pyproject: {sorted(pip_names - conda_names)}; only in environment.yml: "
        f"{sorted(conda_names - pip_names)}")


def test_required_dependencies_are_present_with_lower_bounds_only():
    deps = _pyproject()["dependencies"]
    names = {_name(s) for s in deps}
    assert {"torch", "numpy", "matplotlib", "ipywidgets", "jupyterlab", "nbval"} <= names
    extras = _pyproject()["optional-dependencies"]
    for spec in deps + _expand(extras["test"], extras) + _environment_specs():
        assert "==" not in spec and "<" not in spec, f"use a lower bound only, not {spec!r}"


def test_python_requirement():
    assert _pyproject()["requires-python"] == ">=3.10"


def test_slow_marker_says_how_to_run_the_slow_tests():
    # `pytest -m slow` only selects them (conftest.py skips them unless --run-slow is given)
    text = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["markers"]
    slow = next(m for m in text if m.startswith("slow:"))
    assert "--run-slow" in slow and "-m slow" not in slow
    assert "--run-slow" in (ROOT / "conftest.py").read_text()


def test_binder_environment_is_environment_yml_without_the_editable_install():
    """Binder builds .binder/environment.yml before the repository is there, so `-e .` moves to postBuild."""
    def packages(path):
        text = (ROOT / path).read_text()
        body = text[text.index("name:"):]  # from `name:` on; the header comments differ
        return [ln.split("#", 1)[0].rstrip() for ln in body.splitlines() if ln.split("#", 1)[0].strip()]
    assert packages(".binder/environment.yml") == [ln for ln in packages("environment.yml") if ln.strip() != "- -e ."]
    assert "pip install --no-deps -e ." in (ROOT / ".binder" / "postBuild").read_text()

