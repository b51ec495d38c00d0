"""The counterexample picture (``kverify.report.picture``): well-formed SVG that carries the
addresses of every hop, every node and pod drawn, the drop marked; written beside the Markdown report
and linked from it."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path

import pytest

from kverify.check.session import bundled_specs, run_check
from kverify.cli import main
from kverify.model import ProxyConfig
from kverify.report.picture import MAX_EMPTY_NODES, counterexample_svg
from kverify.verdicts import Counterexample, Refuted

ROOT = Path(__file__).resolve().parent.parent
SVG = "{http://www.w3.org/2000/svg}"


@cache
def _bundled() -> tuple[Counterexample, ...]:
    run = run_check(bundled_specs(), proxy=ProxyConfig(), load_balancer=None)
    return tuple(r.verdict.counterexample for r in run.results if isinstance(r.verdict, Refuted))


def _texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)  # raises on anything that is not well-formed XML
    assert root.tag == f"{SVG}svg"
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def test_every_bundled_counterexample_is_drawn_with_the_addresses_of_every_hop() -> None:
    assert len(_bundled()) >= 10
    for cx in _bundled():
        texts = _texts(counterexample_svg(cx))
        legs = [h for h in cx.outcome.hops if h.to != "(end)"]
        for n, hop in enumerate(legs, start=1):
            assert f"{hop.at} → {hop.to}:  src {hop.src}  dst {hop.dst}" in texts, (cx.id, hop)
            assert str(n) in texts
            if hop.note:
                assert hop.note in texts
        # The arrows say the addresses too: at least the first hop's, beside its number.
        assert f"{legs[0].src} → {legs[0].dst}" in texts, cx.id


def test_nodes_and_their_pods_are_boxes_and_empty_nodes_are_summed_up() -> None:
    for cx in _bundled():
        texts = _texts(counterexample_svg(cx))
        service = cx.cluster.service(cx.flow.service)
        assert service is not None
        for e in service.endpoints:
            if e.node_name and e.pod:
                assert e.pod.split("/", 1)[-1] in texts and e.ip in texts, (cx.id, e)
        with_pods = {e.node_name for e in service.endpoints}
        empty = [n.name for n in cx.cluster.nodes if n.name not in with_pods and n.name != cx.outcome.node]
        drawn = [n.name for n in cx.cluster.nodes if n.name in texts or f"{n.name} (arrival)" in texts]
        assert len(drawn) == len(cx.cluster.nodes) - max(0, len(empty) - MAX_EMPTY_NODES), cx.id
        if len(empty) > MAX_EMPTY_NODES:
            assert f"{len(empty) - MAX_EMPTY_NODES} more node(s) without a pod of the Service" in texts


def test_a_drop_is_marked_at_the_node_that_drops_and_a_delivery_has_no_mark() -> None:
    dropped = [cx for cx in _bundled() if not cx.outcome.delivered]
    delivered = [cx for cx in _bundled() if cx.outcome.delivered]
    assert dropped and delivered
    for cx in dropped:
        svg = counterexample_svg(cx)
        (drop,) = [h for h in cx.outcome.hops if h.to == "(end)"]
        assert f"✗ at {drop.at}: {drop.note}" in _texts(svg)
        assert 'stroke="#c62828"' in svg  # the red cross
    for cx in delivered:
        svg = counterexample_svg(cx)
        assert not any(t.startswith("✗") for t in _texts(svg)) and 'stroke="#c62828"' not in svg
        assert 'stroke-dasharray="6 4"' in svg  # the reply, dashed


def test_the_picture_is_the_same_file_every_time_and_escapes_what_xml_reads() -> None:
    cx = _bundled()[0]
    assert counterexample_svg(cx) == counterexample_svg(cx)
    title = 'a <b> & "c"'
    assert title in _texts(counterexample_svg(cx, title=title))


def test_markdown_report_links_each_counterexample_picture_written_beside_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "review" / "report.md"
    out.parent.mkdir()
    main(["check", str(ROOT / "specs" / "article-local.yaml"), "--format", "markdown", "-o", str(out)])
    assert "counterexample picture(s) to" in capsys.readouterr().err
    text = out.read_text()
    links = re.findall(r"!\[(cx-[0-9a-f]+): [^]]*\]\(([^)]+)\)", text)
    sections = re.findall(r'<a id="(cx-[0-9a-f]+)"></a>', text)
    assert links and [cx for cx, _ in links] == sections
    for cx, link in links:
        assert link == f"{cx}.svg"
        texts = _texts((out.parent / link).read_text())
        assert any(t.startswith(cx) for t in texts)
    # Printed to stdout, the pictures go beside the counterexamples' manifests, linked from there.
    main(["check", str(ROOT / "specs" / "article-local.yaml"), "--format", "markdown"])
    printed = capsys.readouterr().out
    for cx, _ in links:
        assert f"(.kverify/counterexamples/{cx}.svg)" in printed
        assert (tmp_path / ".kverify" / "counterexamples" / f"{cx}.svg").is_file()


def test_no_pictures_for_a_job_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A job summary cannot show a file beside it: ``--no-pictures`` writes none and links none."""
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "summary.md"
    main(["check", str(ROOT / "specs" / "article-local.yaml"), "--format", "markdown", "--no-pictures", "-o", str(out)])
    assert "picture" not in capsys.readouterr().err
    assert "```mermaid" in out.read_text() and "![" not in out.read_text()
    assert not list(tmp_path.rglob("*.svg"))
