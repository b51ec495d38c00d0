"""The CI integrations in the repository work as the how-to page uses them (issue 12): the composite
GitHub Action's steps run as a script, and the pre-commit hooks run through ``pre-commit try-repo``
on a fixture repository.

Both install kverify from this checkout into a fresh environment, as a runner does: slow, so marked.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fresh_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What ``actions/setup-python`` leaves: a Python on PATH without kverify (its ``bin`` folder)."""
    venv = tmp_path_factory.mktemp("runner") / "python"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    return venv / "bin"


def _shop(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "examples" / "shop" / "manifests", repo / "manifests")
    shutil.copytree(ROOT / "examples" / "shop" / "specs", repo / "specs")
    return repo


def _expand(text: str, inputs: dict[str, str], outputs: dict[str, str]) -> str:
    """The two kinds of expression the action's run steps use: inputs and the check step's outputs."""

    def value(match: re.Match[str]) -> str:
        kind, name = match.group(1), match.group(2)
        return inputs[name] if kind == "inputs" else outputs[name]

    return re.sub(r"\$\{\{\s*(inputs|steps\.check\.outputs)\.([\w-]+)\s*\}\}", value, text)


def _run_action(repo: Path, bin_folder: Path, given: dict[str, str]) -> tuple[int, Path, dict[str, str]]:
    """Each step of action.yml: ``uses`` steps are GitHub's own (checked by name, not run); ``run``
    steps run as the runner runs them (``bash --noprofile --norc -eo pipefail``). Returns the last
    step's exit code, the job summary file and the check step's outputs."""
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    inputs = {name: spec.get("default", "") for name, spec in action["inputs"].items()} | given
    runner = repo.parent / "runner"
    runner.mkdir()
    summary, output = runner / "summary.md", runner / "output"
    summary.touch()
    outputs: dict[str, str] = {}
    code = 0
    for step in action["runs"]["steps"]:
        if "uses" in step:
            assert step["uses"].split("@")[0] in {"actions/setup-python", "github/codeql-action/upload-sarif"}
            continue
        env = {
            **os.environ,
            "PATH": f"{bin_folder}{os.pathsep}{os.environ['PATH']}",
            "GITHUB_ACTION_PATH": str(ROOT),
            "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_OUTPUT": str(output),
            "RUNNER_TEMP": str(runner),
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        }
        env.pop("PYTHONPATH", None)
        env.update({k: _expand(str(v), inputs, outputs) for k, v in step.get("env", {}).items()})
        script = runner / "step.sh"
        script.write_text(_expand(step["run"], inputs, outputs))
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        code = done.returncode
        if output.exists():
            outputs = dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
        if step.get("id") == "check" or step["name"].startswith("Install"):
            assert code == 0, (step["name"], done.stdout, done.stderr)
    return code, summary, outputs


@pytest.mark.parametrize(
    ("paths", "code"),
    [
        pytest.param("specs", 0, id="specs whose claims hold pass"),
        pytest.param("manifests", 1, id="manifests with a finding fail the job"),
    ],
)
def test_the_action_installs_checks_and_reports(tmp_path: Path, fresh_python: Path, paths: str, code: int) -> None:
    repo = _shop(tmp_path)
    last, summary, outputs = _run_action(repo, fresh_python, {"paths": paths})
    assert outputs["exit-code"] == str(code)
    assert last == code  # the last step fails the job exactly when kverify check did
    sarif = json.loads((repo / "kverify.sarif").read_text())
    assert sarif["runs"][0]["tool"]["driver"]["name"] == "kverify"
    assert bool(sarif["runs"][0]["results"]) == (paths == "manifests")
    text = summary.read_text()
    assert text.startswith("# kverify check")
    assert re.search(r"^\d+ results?: .* Services? looked at", text, flags=re.MULTILINE), text


def test_the_action_uploads_the_sarif_even_when_the_check_fails() -> None:
    steps = yaml.safe_load((ROOT / "action.yml").read_text())["runs"]["steps"]
    (upload,) = [s for s in steps if s.get("uses", "").startswith("github/codeql-action/upload-sarif")]
    assert upload["if"].startswith("always()")


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


MANIFESTS = ["manifests/api.yaml", "manifests/cart.yaml", "manifests/checkout.yaml", "manifests/frontend.yaml"]


def test_the_pre_commit_hooks_run_through_try_repo(tmp_path: Path) -> None:
    """The hook environment installs kverify from this checkout; a commit with a finding fails, one
    that touches no Service passes (the hook's default ``--allow-nothing-checked``)."""
    pytest.importorskip("pre_commit", reason="pre-commit is not installed (pip install -e '.[test]' installs it)")
    repo = _shop(tmp_path)
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit"), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env.pop("PYTHONPATH", None)

    def hook(name: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), name, *args],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )

    changed = hook("kverify-check", "--files", *MANIFESTS, "manifests/nodes.yaml")
    assert changed.returncode == 1, changed.stdout + changed.stderr
    assert "kverify check (changed specs and manifests)" in changed.stdout
    assert "itp-local-clients-without-endpoint" in changed.stdout
    assert "1 result: 0 as expected, 1 failed" in changed.stdout
    no_service = hook("kverify-check", "--files", "manifests/nodes.yaml")  # --allow-nothing-checked: passes
    assert no_service.returncode == 0, no_service.stdout + no_service.stderr
