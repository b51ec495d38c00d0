"""The example projects under examples/ pass, run as their users run them: `pytest` in their folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.plugin_loading import plugin_args

ROOT = Path(__file__).resolve().parent.parent
PROJECTS = [p.parent for p in sorted((ROOT / "examples").glob("*/tests"))]


def test_there_is_an_example_project() -> None:
    assert ROOT / "examples" / "shop" in PROJECTS


@pytest.mark.parametrize("project", PROJECTS, ids=[p.name for p in PROJECTS])
def test_example_project_passes(project: Path) -> None:
    # kverify from this checkout, whether or not it is installed; no cache written into examples/. An
    # xdist worker's PYTEST_* variables would make the child believe it runs under xdist too.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    # Installed, kverify's pytest plugin loads through its entry point; from a bare checkout, by name.
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", "-p", "no:benchmark", *plugin_args()],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert " passed" in run.stdout and "failed" not in run.stdout
    for spec in sorted(project.glob("specs/*.kverify.yaml")):  # every claim of its specs ran, and passed
        ran = [line for line in run.stdout.splitlines() if line.startswith(f"specs/{spec.name}::")]
        assert ran and all(" PASSED " in line for line in ran), run.stdout
