"""The browser check: Mermaid itself renders every diagram kverify emits, and the Markdown report and
the docs site's tutorial page are screenshotted with their diagrams drawn.

``tests/render/`` holds the browser half: the pinned ``mermaid`` and ``puppeteer-core`` npm packages
(``package.json`` and its lock file; ``npm ci`` there installs them, never a browser) and
``render.mjs``, which drives Debian's Chromium. One browser launch does the whole job, so the check
is one test. Every diagram must come out as a diagram (an SVG with the labels kverify wrote), never
as Mermaid's error box. The screenshots land in ``build/screenshots/`` (git-ignored):
``markdown-report.png`` and ``docs-tutorial.png``.

Without node, Chromium or ``tests/render/node_modules`` the check is skipped with the reason; with
``KVERIFY_REQUIRE_BROWSER=1`` (set by ``.ci/run``, which installs them) it fails instead, so CI cannot
pass without running it.
"""

from __future__ import annotations

import contextlib
import functools
import html
import http.server
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kverify.cli import main

ROOT = Path(__file__).resolve().parent.parent
RENDER = ROOT / "tests" / "render"
SCREENSHOTS = ROOT / "build" / "screenshots"
CHROMIUM = os.environ.get("KVERIFY_CHROMIUM", "/usr/bin/chromium")
MERMAID_BLOCK = re.compile(r"```mermaid\n(.*?)\n```", re.DOTALL)
# The Mermaid the docs site loads (mkdocs.yml); the browser check serves it from tests/render.
MERMAID_URL = re.compile(r"https://\S+/mermaid@([0-9.]+)/dist/mermaid\.min\.js")


def unavailable() -> str | None:
    """Why the browser check cannot run here, or None."""
    if shutil.which("node") is None:
        return "node is not on PATH (apt-get install nodejs npm)"
    if not Path(CHROMIUM).is_file():
        return f"{CHROMIUM} is missing (apt-get install chromium, or set KVERIFY_CHROMIUM)"
    for package in ("mermaid", "puppeteer-core"):
        if not (RENDER / "node_modules" / package / "package.json").is_file():
            return f"tests/render/node_modules/{package} is missing (cd tests/render && npm ci)"
    for module in ("markdown", "pymdownx", "mkdocs"):
        try:
            __import__(module)
        except ImportError:
            return f"the Python module {module} is missing (pip install -e '.[docs]')"
    return None


def _site_mermaid_url() -> str:
    match = MERMAID_URL.search((ROOT / "mkdocs.yml").read_text())
    assert match, "mkdocs.yml loads no pinned mermaid.min.js"
    return match.group(0)


def test_the_site_loads_the_mermaid_the_browser_check_renders_with() -> None:
    """One pinned version: mkdocs.yml's URL, package.json and its lock file agree."""
    site = MERMAID_URL.search(_site_mermaid_url())
    assert site is not None
    pinned = json.loads((RENDER / "package.json").read_text())["dependencies"]
    locked = json.loads((RENDER / "package-lock.json").read_text())["packages"]
    assert pinned["mermaid"] == locked["node_modules/mermaid"]["version"] == site.group(1)
    assert pinned["puppeteer-core"] == locked["node_modules/puppeteer-core"]["version"]


# --- what kverify emits ------------------------------------------------------------------------


def _reports(folder: Path) -> dict[str, Path]:
    """Every kind of Markdown report kverify writes, each with the pictures beside it."""
    reports = {
        "bundled-specs": ["check"],
        "built-in-checks": ["check", str(ROOT / "tests" / "data" / "check")],
        "design-review": ["check", str(ROOT / "specs" / "design-web-local.yaml")],
    }
    written = {}
    for name, argv in reports.items():
        out = folder / name / "report.md"
        out.parent.mkdir(parents=True)
        main([*argv, "--format", "markdown", "-o", str(out)])
        written[name] = out
    old = ROOT / "examples" / "article" / "cluster.yaml"
    new = folder / "cluster-local.yaml"
    text = old.read_text()
    assert text.count("  externalTrafficPolicy: Cluster\n") == 1
    new.write_text(text.replace("  externalTrafficPolicy: Cluster\n", "  externalTrafficPolicy: Local\n"))
    out = folder / "diff" / "report.md"
    out.parent.mkdir()
    argv = ["diff", str(old), str(new), "--load-balancer", "no-health-check", "--format", "markdown", "-o", str(out)]
    assert main(argv) == 0
    written["diff"] = out
    return written


def _labels(diagram: str) -> list[str]:
    """The words kverify put in a diagram, which Mermaid must draw: participants, messages and notes
    of a sequence diagram; boxes, subgraph titles and edge labels of a flowchart."""
    if diagram.startswith("sequenceDiagram"):
        found = re.findall(r"^    participant P\d+ as (.+)$", diagram, re.MULTILINE)
        found += re.findall(r"^    (?:P\d+-->?>P\d+|Note over [P\d,]+): (.+)$", diagram, re.MULTILINE)
    else:
        found = re.findall(r'"([^"]+)"', diagram)
    assert found, diagram
    return found


def _words(svg: str) -> str:
    """The text an SVG shows, tags stripped, entities decoded, whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", svg)).split())


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; max-width: 1012px; margin: 24px auto;
       color: #1f2328; line-height: 1.5; font-size: 15px; }}
table {{ border-collapse: collapse; }} th, td {{ border: 1px solid #d1d9e0; padding: 4px 10px; }}
code {{ background: #eff1f3; padding: 1px 4px; border-radius: 4px; font-size: 85%; }}
pre {{ background: #f6f8fa; padding: 12px; overflow: auto; }} img {{ max-width: 100%; }}
</style></head><body>
{body}
<script src="{mermaid}"></script>
<script>mermaid.initialize({{ startOnLoad: true, securityLevel: "strict" }});</script>
</body></html>
"""


def _report_page(report: Path) -> Path:
    """The Markdown report as GitHub shows it: HTML, ```mermaid blocks left for Mermaid to draw."""
    import markdown
    from pymdownx.superfences import fence_div_format

    fences = {"custom_fences": [{"name": "mermaid", "class": "mermaid", "format": fence_div_format}]}
    body = markdown.markdown(
        report.read_text(),
        extensions=["tables", "pymdownx.superfences"],
        extension_configs={"pymdownx.superfences": fences},
    )
    page = report.with_suffix(".html")
    page.write_text(_PAGE.format(title=report.name, body=body, mermaid=_site_mermaid_url()))
    return page


@contextlib.contextmanager
def _serving(folder: Path) -> Iterator[str]:
    """``folder`` over HTTP on 127.0.0.1 (as the site is served: its search runs in a web worker,
    which a file:// page may not start); the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def _run_browser(job: dict[str, Any], folder: Path) -> dict[str, Any]:
    (folder / "job.json").write_text(json.dumps(job))
    run = subprocess.run(
        ["node", str(RENDER / "render.mjs"), str(folder / "job.json")],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)  # type: ignore[no-any-return]


def test_mermaid_renders_every_diagram_and_the_pages_are_screenshotted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    reason = unavailable()
    if reason:
        if os.environ.get("KVERIFY_REQUIRE_BROWSER") == "1":
            pytest.fail(f"KVERIFY_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    monkeypatch.chdir(tmp_path)  # counterexample manifests land under tmp_path/.kverify
    reports = _reports(tmp_path)
    capsys.readouterr()
    sources = {name: path.read_text() for name, path in reports.items()}
    sources["docs/tutorial.md"] = (ROOT / "docs" / "tutorial.md").read_text()
    diagrams = [
        {"id": f"{name} #{i}", "text": text}
        for name, source in sources.items()
        for i, text in enumerate(MERMAID_BLOCK.findall(source), start=1)
    ]
    kinds = {d["text"].split("\n", 1)[0] for d in diagrams}
    assert kinds == {"sequenceDiagram", "flowchart LR"}, kinds  # both kinds kverify draws are checked
    site = tmp_path / "site"
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert build.returncode == 0, build.stderr
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shots = {
        "markdown-report": _report_page(reports["design-review"]),
        "docs-tutorial": site / "tutorial" / "index.html",
    }
    with _serving(tmp_path) as base:
        pages = [
            {"url": base + page.relative_to(tmp_path).as_posix(), "png": str(SCREENSHOTS / f"{name}.png")}
            for name, page in shots.items()
        ]
        result = _run_browser({"diagrams": diagrams, "pages": pages}, tmp_path)

    failures = []
    assert len(result["diagrams"]) == len(diagrams)
    for asked, got in zip(diagrams, result["diagrams"], strict=True):
        if got["error"] or not got["svg"]:
            failures.append(f"{asked['id']}: Mermaid {result['mermaid']} refused it: {got['error']}\n{asked['text']}")
            continue
        svg = got["svg"]
        if "Syntax error in text" in svg or 'aria-roledescription="error"' in svg:
            failures.append(f"{asked['id']}: rendered as Mermaid's error box\n{asked['text']}")
            continue
        words = _words(svg)
        missing = [label for label in _labels(asked["text"]) if " ".join(label.split()) not in words]
        if missing:
            failures.append(f"{asked['id']}: labels not drawn: {missing}")
    for (name, page), got in zip(shots.items(), result["pages"], strict=True):
        source = sources["docs/tutorial.md"] if name == "docs-tutorial" else page.with_suffix(".md").read_text()
        expected = len(MERMAID_BLOCK.findall(source))
        if not (got["blocks"] == len(got["svgs"]) == expected > 0):
            failures.append(
                f"{name}: {expected} diagram(s) in the source, {got['blocks']} blocks, {len(got['svgs'])} drawn"
            )
        if got["errors"]:
            failures.append(f"{name}: Mermaid error boxes: {got['errors']}")
        if got["blocked"]:
            failures.append(f"{name}: asked the network for {got['blocked']}")
        if [m for m in got["console"] if m.startswith(("pageerror", "timeout"))]:
            failures.append(f"{name}: {got['console']}")
        pictures = [i for i in got["images"] if i["src"].endswith(".svg")]
        if not pictures or not all(i["loaded"] for i in pictures):
            failures.append(f"{name}: counterexample pictures not shown: {got['images']}")
        width, height = _png_size(Path(got["png"]))
        if width < 800 or height < 600:
            failures.append(f"{name}: screenshot {got['png']} is only {width}x{height}")
    assert not failures, "\n\n".join(failures)
