"""The README's Setup, Run and Test commands are the ones CI runs, and its links point to real files."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _command_after(heading: str) -> str:
    """The first line of the first ```bash block under a `## heading`."""
    section = README.split(f"## {heading}\n", 1)[1]
    block = re.search(r"```bash\n(.+?)\n", section)
    assert block, f"no ```bash block under ## {heading}"
    return block.group(1).strip()


def test_ci_runs_the_readme_setup_and_test_commands():
    ci = (ROOT / ".ci" / "run").read_text()
    for heading in ("Setup", "Test"):
        command = _command_after(heading)
        assert command in ci, f"the README's {heading} command {command!r} is not what .ci/run runs"


def test_run_command_shows_lessons_exercises_and_solutions():
    # from the repository root, so that the file browser shows all three folders
    assert _command_after("Run") == "jupyter lab"
    assert all(f"`{folder}/`" in README.split("## Run\n", 1)[1].split("\n## ", 1)[0]
               for folder in ("lessons", "exercises", "solutions"))


def test_lesson_links_exist_and_runtimes_are_filled_in():
    for link in re.findall(r"\]\(((?:lessons|exercises|solutions)/[^)]*)\)", README):
        assert (ROOT / link).exists(), f"README links to a missing {link}"
    assert "RUNTIME_" not in README, "fill in the measured lesson runtimes"


def test_setup_is_one_cpu_only_command_and_says_how_to_pick_cuda():
    command = _command_after("Setup")
    assert command.startswith("python -m pip install -e") and "download.pytorch.org/whl/cpu" in command
    setup = README.split("## Setup\n", 1)[1].split("\n## ", 1)[0]
    assert "CUDA" in setup and "whl/cu" in setup


def test_readme_promises_output_checks_only_where_notebooks_have_them():
    # nbval compares stored outputs only in cells marked NBVAL_CHECK_OUTPUT: promise it only if used
    marked = any("NBVAL_CHECK_OUTPUT" in p.read_text() for folder in ("lessons", "solutions")
                 for p in (ROOT / folder).glob("*.ipynb"))
    assert marked or "NBVAL_CHECK_OUTPUT" not in README
