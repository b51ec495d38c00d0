"""Reports of ``kverify check``: JSON (versioned schema, stable ids), Markdown with Mermaid sequence
diagrams, SARIF 2.1.0 (validated against the OASIS schema), text with colour only on request."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import jsonschema
import pytest

from kverify.check.session import bundled_specs
from kverify.cli import main
from kverify.report.markdown import sequence_diagram
from kverify.report.progress import Progress

ROOT = Path(__file__).parent.parent
CHECK_DATA = ROOT / "tests" / "data" / "check"
REPORT_SCHEMA = json.loads((ROOT / "kverify" / "data" / "check-report.schema.json").read_text())
SARIF_SCHEMA = json.loads((ROOT / "tests" / "data" / "sarif" / "sarif-schema-2.1.0.json").read_text())


@pytest.fixture(autouse=True)
def _at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def report(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(["check", *argv])
    return code, capsys.readouterr().out


INPUTS = [
    pytest.param([], id="the bundled specs"),
    pytest.param([str(CHECK_DATA)], id="built-in checks on manifests with findings"),
]


@pytest.mark.parametrize("argv", INPUTS)
def test_json_validates_against_its_published_schema_and_ids_are_stable(capsys, argv) -> None:  # type: ignore[no-untyped-def]
    _, first = report(capsys, *argv, "--format", "json")
    _, second = report(capsys, *argv, "--format", "json")
    document = json.loads(first)
    jsonschema.Draft202012Validator(REPORT_SCHEMA).validate(document)
    assert document["version"] == 1 and document["results"]
    ids = [r["id"] for r in document["results"]]
    assert ids == [r["id"] for r in json.loads(second)["results"]] and len(set(ids)) == len(ids)


def test_the_published_schemas_in_docs_are_the_package_data() -> None:
    for name in ("check-report.schema.json", "spec.schema.json", "diff-report.schema.json"):
        assert (ROOT / "docs" / name).read_text() == (ROOT / "kverify" / "data" / name).read_text()


_PARTICIPANT = re.compile(r"    participant (P\d+) as ([^;#<>]+)")
_MESSAGE = re.compile(r"    (P\d+)(->>|-->>)(P\d+): src [^;#<>]+ dst [^;#<>]+")
_NOTE = re.compile(r"    Note over (P\d+)(?:,(P\d+))?: [^;#<>]+")


def check_mermaid(diagram: str) -> None:
    """Structural check of a Mermaid sequenceDiagram: the header, declared participants, arrows and
    notes only, and no character Mermaid would read as syntax inside a label."""
    lines = diagram.splitlines()
    assert lines[0] == "sequenceDiagram"
    declared: set[str] = set()
    arrows = 0
    for line in lines[1:]:
        if m := _PARTICIPANT.fullmatch(line):
            assert m.group(1) not in declared
            declared.add(m.group(1))
        elif m := _MESSAGE.fullmatch(line):
            assert {m.group(1), m.group(3)} <= declared
            arrows += 1
        elif m := _NOTE.fullmatch(line):
            assert {g for g in m.groups() if g} <= declared
        else:
            raise AssertionError(f"not Mermaid sequenceDiagram syntax: {line!r}")
    assert arrows >= 1


_FLOW_LINE = re.compile(
    r'    (client\(\["[^"\[\]();#<>]+"\]\)|lb\{\{"[^"]+"\}\}|subgraph N\d+\["[^"\[\]]+"\]|end|more\["[^"\[\]]+"\]'
    r'|drop\(\["[A-Z-]+"\]\)|\w+ --> \w+|\w+ ~~~ \w+|\w+ -- "[^"]+" --> \w+|\w+ --x drop)'
    r'|        N\d+(P\d+|E)\["[^"\[\]]+"\]'
)


def check_flowchart(diagram: str) -> None:
    """Structural check of a placement flowchart: boxes, subgraphs and edges only, balanced subgraphs."""
    lines = diagram.splitlines()
    assert lines[0] == "flowchart LR"
    for line in lines[1:]:
        assert _FLOW_LINE.fullmatch(line), f"not placement flowchart syntax: {line!r}"
    assert sum(line.startswith("    subgraph") for line in lines) == lines.count("    end") >= 1


@pytest.mark.parametrize("argv", INPUTS)
def test_markdown_has_a_verdict_table_and_a_diagram_per_counterexample(capsys, argv) -> None:  # type: ignore[no-untyped-def]
    _, text = report(capsys, *argv, "--format", "markdown")
    _, as_json = report(capsys, *argv, "--format", "json")
    refuted = [r for r in json.loads(as_json)["results"] if r["verdict"]["verdict"] == "refuted"]
    table = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| |")]
    assert len(table) == len(json.loads(as_json)["results"])
    every = re.findall(r"```mermaid\n(.*?)\n```", text, re.S)
    diagrams = [d for d in every if d.startswith("sequenceDiagram")]
    placements = [d for d in every if d.startswith("flowchart")]
    assert len(diagrams) == len(refuted) > 0
    assert len(placements) == sum("placement" in r["verdict"]["counterexample"] for r in refuted)
    for placement in placements:
        check_flowchart(placement)
    for diagram in diagrams:
        check_mermaid(diagram)
    for r in refuted:  # every address of the counterexample's hops is in its diagram
        diagram = diagrams[[x["id"] for x in refuted].index(r["id"])]
        for hop in r["verdict"]["counterexample"]["outcome"]["hops"]:
            if hop["to"] != "(end)":
                assert f"src {hop['src']} dst {hop['dst']}" in diagram


def test_a_dropped_packet_ends_in_a_note() -> None:
    from kverify.concrete import route
    from kverify.load import load_manifests, to_cluster
    from kverify.model import ClientKind, Destination, Flow

    cluster = to_cluster(load_manifests(["examples/article/cluster.yaml"]))
    (outcome,) = route(
        cluster,
        Flow(service="shop/web-local", client=ClientKind.EXTERNAL, destination=Destination.NODE_PORT, node="node-c"),
    )
    diagram = sequence_diagram(outcome)
    check_mermaid(diagram)
    assert diagram.splitlines()[-1].startswith("    Note over P1: DROP by the proxy on node-c")


@pytest.mark.parametrize("argv", INPUTS)
def test_sarif_validates_against_sarif_2_1_0_and_points_at_the_service_manifest(capsys, argv) -> None:  # type: ignore[no-untyped-def]
    _, text = report(capsys, *argv, "--format", "sarif")
    log = json.loads(text)
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(log)
    (run,) = log["runs"]
    results = run["results"]
    if not argv:  # every bundled claim keeps its expected verdict: nothing to annotate
        assert results == []
        return
    assert len(results) == 6
    for result in results:
        location = result["locations"][0]["physicalLocation"]
        uri, line = location["artifactLocation"]["uri"], location["region"]["startLine"]
        service = result["properties"]["service"]
        text_at = Path(uri).read_text().splitlines()
        name = service.split("/")[1]
        block = "\n".join(text_at[line - 1 : line + 4])  # the object starts here: its kind and name follow
        assert "kind: Service" in block and name in block, (uri, line, block)
        assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == result["ruleId"]


def test_sarif_reports_a_failed_spec_claim_with_the_claim_as_related_location(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    spec = (
        Path("specs/local-lb-without-health-checks.yaml")
        .read_text()
        .replace("expect: refuted\n    why: the load", "why: the load")
    )
    path = tmp_path / "s.yaml"
    path.write_text(spec)
    code, text = report(capsys, str(path), "--format", "sarif")
    assert code == 1
    (result,) = json.loads(text)["runs"][0]["results"]
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(json.loads(text))
    assert result["ruleId"] == "local-lb-without-health-checks/lb-delivers" and result["level"] == "error"
    assert result["relatedLocations"][0]["physicalLocation"]["region"]["startLine"] > 1


def test_text_groups_by_input_and_service_and_paints_only_when_asked(capsys) -> None:  # type: ignore[no-untyped-def]
    _, plain = report(capsys, str(CHECK_DATA))
    _, painted = report(capsys, str(CHECK_DATA), "--color", "always")
    assert "\x1b[" not in plain and "\x1b[31;1mFAIL" in painted
    services = [line.split()[0] for line in plain.splitlines() if line.startswith("  ") and not line.startswith("   ")]
    assert services == sorted(services) and "shop/cache" in services
    assert plain.splitlines()[0] == "built-in checks"


def test_write_counterexamples_writes_manifests_that_trace_reproduces(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    report(
        capsys,
        "specs/local-lb-without-health-checks.yaml",
        "--write-counterexamples",
        str(tmp_path),
        "--format",
        "json",
    )
    written = sorted(tmp_path.glob("cx-*.yaml"))
    assert written
    assert (
        main(
            [
                "trace",
                str(written[0]),
                "--service",
                "shop/web",
                "--to",
                "load-balancer",
                "--from",
                "external",
                "--load-balancer",
                "no-health-check",
            ]
        )
        == 0
    )
    assert "DROPPED" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("tty", "drawn"),
    [pytest.param(True, True, id="a terminal gets a progress bar"), pytest.param(False, False, id="a pipe gets none")],
)
def test_progress_bar_only_on_a_terminal(tty: bool, drawn: bool) -> None:
    stream = io.StringIO()
    bar = Progress("checks", stream=stream, delay=0.0, enabled=tty)
    bar(5, 10)
    bar.close()
    assert ("[###############...............] 5/10" in stream.getvalue()) == drawn
    assert all(p.startswith("specs/") for p in bundled_specs())
