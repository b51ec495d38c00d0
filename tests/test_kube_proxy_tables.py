"""kube-proxy's own packet-flow tables, per version (tests/kubernetes_cases/by_version/*.yaml).

Each YAML file holds the versions of one Go test file that were read (repository, commit, the
release range the content shows) and, per version, the tables transcribed from it. Every row runs
through the executable model at each Kubernetes minor of its version's range and must give the
outcome the Go test expects there; the Z3 encoding must admit exactly the same outcomes (the twin
check of ``kverify.symbolic.differential``). The expectations are the Go tests' ``output`` and
``masq`` fields, never kverify's output.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from kverify.concrete import route
from kverify.model.versions import parse_version
from kverify.symbolic.differential import compare
from tests.kubernetes_cases import rows

HERE = Path(__file__).parent / "kubernetes_cases" / "by_version"
FILES = sorted(HERE.glob("*.yaml"))
_SHA = re.compile(r"^[0-9a-f]{40}$")
#: What a Go packetFlowTest's ``output`` says when the packet is not delivered.
_VERDICTS = {"DROP": "drop", "REJECT": "reject", "": "not-intercepted"}


def _load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def citation(version: dict[str, Any], table: dict[str, Any], row: dict[str, Any]) -> str:
    """The comment each row carries in the YAML: ``repo@sha path TestName [/ part] row "name"``."""
    repo = version["repo"].replace("kubernetes/kubernetes", "kubernetes")
    part = f" / {table['part']}" if table.get("part") else ""
    return f'{repo}@{version["commit"][:8]} {version["path"]} {table["test"]}{part} row "{row["name"]}"'


def _cases() -> list[Any]:
    cases = []
    for path in FILES:
        data = _load(path)
        for table in data["tables"]:
            version = data["versions"][table["version"]]
            for row in table["rows"]:
                for minor in version["kubernetes_version"]:
                    case = _case(table, row, minor, version.get("feature_gates") or {})
                    cases.append(pytest.param(case, id=f"v{minor} {citation(version, table, row)}"))
    return cases


def _case(table: dict[str, Any], row: dict[str, Any], minor: str, gates: dict[str, bool]) -> dict[str, Any]:
    """A row in the shape of ``tests/kubernetes_cases/rows.py`` (kind: flow), at one Kubernetes minor."""
    flow = {key: row[key] for key in ("from", "src_ip", "to", "dst_ip", "port") if key in row}
    flow["protocol"] = row.get("protocol", "TCP")
    flow["node"] = table["nodes"][0]["name"]  # the node the Go test's fake proxier runs on
    case = {
        "kind": "flow",
        "proxy": table["proxy"],
        "kubernetes_version": minor,
        "feature_gates": {**gates, **(table.get("feature_gates") or {})},
        "nodes": table["nodes"],
        "service": table["service"],
        "endpoints": table["endpoints"],
        "flow": flow,
    }
    if "real_servers" in row:  # a virtual-server row (ipvs): the endpoints, no verdict and no masquerade
        return {**case, "real_servers": row["real_servers"]}
    return {**case, "output": row["output"], "masq": row.get("masq", False)}


def _endpoint_ips(targets: list[str]) -> set[str]:
    """``["10.0.1.1:80", "[fd00::1]:80"]`` -> the addresses."""
    return {target.rsplit(":", 1)[0].strip("[]") for target in targets}


CASES = _cases()


@pytest.mark.parametrize("case", CASES)
def test_executable_model_gives_the_outcome_kube_proxys_test_expects(case: dict[str, Any]) -> None:
    outcomes = route(rows.cluster(case), rows.flow(case))
    delivered = [o for o in outcomes if o.delivered]
    if "real_servers" in case:  # IPVS picks among the virtual server's real servers; none: not delivered
        assert all(o.delivered for o in outcomes) if case["real_servers"] else not delivered, outcomes
        assert {o.endpoint_ip for o in delivered} == _endpoint_ips(case["real_servers"])
        return
    output = case["output"]
    if output in _VERDICTS:
        assert not delivered, [o.endpoint_ip for o in delivered]
        assert {o.drop_kind.spelling for o in outcomes if o.drop_kind} == {_VERDICTS[output]}
    else:  # "ip:port, ip:port": every endpoint the packet may be DNATed to
        wanted = _endpoint_ips(output.split(", "))
        assert all(o.delivered for o in outcomes), [o.drop_kind for o in outcomes]
        assert {o.endpoint_ip for o in delivered} == wanted
        assert {o.masqueraded for o in delivered} == {case["masq"]}


@pytest.mark.parametrize("case", CASES)
def test_z3_encoding_admits_exactly_the_same_outcomes(case: dict[str, Any]) -> None:
    for comparison in compare(rows.cluster(case), rows.flow(case)):
        assert comparison.well_formed, comparison
        assert comparison.symbolic == comparison.concrete, comparison
        assert comparison.lb_nodes_symbolic == comparison.lb_nodes_concrete, comparison


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_every_row_names_the_commit_test_and_row_it_was_transcribed_from(path: Path) -> None:
    data = _load(path)
    text = path.read_text()
    # A file shows behaviour on either side of a change, or says why it holds one version.
    assert len(data["versions"]) >= 2 or data.get("single_version"), path.name
    for key, version in data["versions"].items():
        assert _SHA.match(version["commit"]), key
        assert version["path"].endswith("_test.go") and version["release"] and version["evidence"], key
        for minor in version["kubernetes_version"]:
            parse_version(minor)
    for table in data["tables"]:
        version = data["versions"][table["version"]]
        assert table["test"].startswith("Test") and table["rows"], table["test"]
        for row in table["rows"]:
            assert f"# {citation(version, table, row)}\n" in text, citation(version, table, row)
            # A row read off an expected rules dump (no packetFlowTest to quote) shows its path through it;
            # a virtual-server row names the virtual server whose real servers it states.
            expects = version.get("expects", "packet-flows")
            assert (expects == "rules") == bool(row.get("via")), row["name"]
            assert (expects == "virtual-servers") == ("real_servers" in row and "virtual_server" in row), row["name"]


def test_the_semantics_docs_state_the_versions_and_counts_that_are_run() -> None:
    from kverify.semantics.docs import UPSTREAM_TABLES

    found = set()
    for path in FILES:
        data = _load(path)
        for key, version in data["versions"].items():
            tables = [t for t in data["tables"] if t["version"] == key]
            repo = version["repo"].replace("kubernetes/kubernetes", "kubernetes")
            found.add((f"{repo}@{version['commit'][:8]}", len(tables), sum(len(t["rows"]) for t in tables)))
    assert {(src, tables, n) for _, src, _, tables, n in UPSTREAM_TABLES} == found
