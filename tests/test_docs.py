"""The docs say what the code does: the tutorial's commands print what it shows, the generated reference
pages are current, and the explanation states the bound the prover uses."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kverify import docs_gen
from kverify.prove.claims import ALL_CLAIMS, HOLDS
from kverify.symbolic.prove import DEFAULT_MAX_ENDPOINTS, DEFAULT_MAX_NODES

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
KVERIFY = ".venv/bin/kverify"  # how the tutorial runs kverify after the README's install command


def _console_steps(markdown: str) -> list[tuple[str, str]]:
    """(command, expected output) for each `$ ` line of the ```console blocks, in order."""
    steps: list[tuple[str, str]] = []
    for block in re.findall(r"```console\n(.*?)```", markdown, flags=re.DOTALL):
        for chunk in re.split(r"^\$ ", block, flags=re.MULTILINE)[1:]:
            command, _, output = chunk.partition("\n")
            steps.append((command, output))
    return steps


def test_the_tutorial_has_its_four_parts() -> None:
    text = (DOCS / "tutorial.md").read_text()
    assert [c.split()[1] for c, _ in _console_steps(text)] == ["trace"] * 3 + ["prove"] * 2 + ["trace"] * 4


def _console_script() -> Path:
    """The ``kverify`` console script installed beside this interpreter (the README's install makes it)."""
    script = Path(sys.executable).parent / "kverify"
    if not script.is_file():
        pytest.skip(f"kverify is not installed as a console script beside {sys.executable} (pip install -e .)")
    return script


def _without(folder: Path) -> str:
    """PATH without ``folder``: the README does not activate the venv, so its kverify is not on PATH."""
    keep = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and Path(p).resolve() != folder.resolve()]
    return os.pathsep.join(keep)


def test_tutorial_commands_print_what_the_tutorial_shows(tmp_path: Path) -> None:
    """Word for word, in a copy of the checkout's examples, one command after the other, with the
    console script at ``.venv/bin/kverify`` as the README installs it (reproduce commands name it so)."""
    script = _console_script()
    for example in ("article", "design"):
        shutil.copytree(ROOT / "examples" / example, tmp_path / "examples" / example)
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / KVERIFY).symlink_to(script)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "80", "PATH": _without(script.parent)}
    for command, expected in _console_steps((DOCS / "tutorial.md").read_text()):
        words = shlex.split(command)
        assert words[0] == KVERIFY, command
        run = subprocess.run(
            words,
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert run.returncode == 0, (command, run.stderr)
        assert run.stdout == expected, f"$ {command}\n--- tutorial\n{expected}--- actual\n{run.stdout}"


def test_tutorial_install_summary_matches_the_library() -> None:
    pairs = [(c, verdict) for c in ALL_CLAIMS for verdict in c.expected.values()]
    proved = sum(verdict == HOLDS for _, verdict in pairs)
    line = (
        f"{len(pairs)} verdicts: {proved} proved, {len(pairs) - proved} refuted, 0 unknown; "
        "0 differ from the library's expectation"
    )
    assert f"```text\n{line}\n```" in (DOCS / "tutorial.md").read_text()


@pytest.mark.parametrize("page", ["explanation.md", "how-to/use-the-assertion-api.md"])
def test_pages_state_the_provers_current_bound(page: str) -> None:
    text = " ".join((DOCS / page).read_text().split())
    assert f"{DEFAULT_MAX_NODES} nodes and {DEFAULT_MAX_ENDPOINTS} endpoints" in text


def test_generated_reference_pages_are_up_to_date() -> None:
    assert docs_gen.stale() == [], "run: python -m kverify.docs_gen"


def test_every_docs_page_is_in_the_site_navigation() -> None:
    nav = (ROOT / "mkdocs.yml").read_text()
    pages = sorted(str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md"))
    assert [p for p in pages if p not in nav] == []


def test_the_tutorial_draws_its_counterexample_as_the_markdown_report_does() -> None:
    """Section 3's Mermaid diagram is kverify's own for the counterexample it shows, and its picture is
    the generated one (kept current by ``python -m kverify.docs_gen``)."""
    from kverify.report.markdown import sequence_diagram

    text = (DOCS / "tutorial.md").read_text()
    cx = docs_gen.tutorial_counterexample()
    (diagram,) = re.findall(r"```mermaid\n(.*?)\n```", text, flags=re.DOTALL)
    assert diagram == sequence_diagram(cx.outcome)
    assert f"![{cx.id}: the packet's path, with the addresses at every hop](images/tutorial-counterexample.svg)" in text
    assert cx.id in (DOCS / "images" / "tutorial-counterexample.svg").read_text()


def test_review_a_change_how_to_prints_what_it_shows(tmp_path: Path) -> None:
    """Word for word, from the top of the checkout with kverify on PATH (the page's `$ kverify`), and
    each printed reproduce command runs as printed."""
    script = _console_script()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "COLUMNS": "80",
        "PATH": f"{script.parent}{os.pathsep}{_without(script.parent)}",
    }
    shutil.copytree(ROOT / "specs", tmp_path / "specs", symlinks=False)
    page = (DOCS / "how-to" / "review-a-change-before-it-ships.md").read_text()
    blocks = re.findall(r"```text\n\$ (.*?)\n(.*?)```", page, flags=re.DOTALL)
    assert len(blocks) == 4
    for command, expected in blocks:
        run = subprocess.run(
            command, shell=True, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False
        )
        assert run.stdout == expected, f"$ {command}\n--- page\n{expected}--- actual\n{run.stdout}"
        for reproduce in re.findall(r"^ +reproduce: (.*)$", run.stdout, flags=re.MULTILINE):
            again = subprocess.run(
                reproduce, shell=True, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False
            )
            assert again.returncode == 0, (reproduce, again.stderr)


def test_write_a_spec_how_to_prints_what_it_shows(tmp_path: Path) -> None:
    """The page's two `kverify check` runs in ``examples/shop/``: the spec, and a copy with the two
    mistakes the page describes (``property: client-ip-preserve`` and ``form: pod``)."""
    script = _console_script()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "COLUMNS": "80",
        "PATH": f"{script.parent}{os.pathsep}{_without(script.parent)}",
    }
    shop = tmp_path / "shop"
    shutil.copytree(ROOT / "examples" / "shop", shop)
    lines = (shop / "specs" / "shop.kverify.yaml").read_text().splitlines(keepends=True)
    assert lines[21].strip() == "property: client-ip-preserved" and lines[28].strip() == "from: pod"
    lines[21] = lines[21].replace("client-ip-preserved", "client-ip-preserve")
    lines[28] = lines[28].replace("from:", "form:")
    (shop / "specs" / "typo.kverify.yaml").write_text("".join(lines))
    page = (DOCS / "how-to" / "write-a-spec.md").read_text()
    blocks = re.findall(r"```console\n\$ (kverify check .*?)\n(.*?)```", page, flags=re.DOTALL)
    assert [c for c, _ in blocks] == ["kverify check specs/shop.kverify.yaml", "kverify check specs/typo.kverify.yaml"]
    for command, expected in blocks:
        run = subprocess.run(
            shlex.split(command), cwd=shop, env=env, capture_output=True, text=True, timeout=300, check=False
        )
        assert run.stdout + run.stderr == expected, (
            f"$ {command}\n--- page\n{expected}--- actual\n{run.stdout}{run.stderr}"
        )
