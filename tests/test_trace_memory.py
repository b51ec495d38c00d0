"""``kverify trace`` from every node holds memory linear in nodes + endpoints (issue 11).

With ``externalTrafficPolicy: Cluster`` every node's group of outcomes reaches every endpoint: a
trace without ``--node`` stands for nodes x endpoints outcomes. Holding every group at once (one
entry per endpoint in each) took more than 16 GB for 1,000 nodes and 100,000 endpoints; the groups
are now written as they are made. The tests measure the peak of the memory allocated after loading
(tracemalloc: a ratio of two peaks, never a time), and check that the streamed JSON is the text
the whole document encoded at once gives.
"""

from __future__ import annotations

import io
import json
import tracemalloc
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kverify.load
from kverify.cli import main
from kverify.concrete import OutcomeGroup, iter_outcome_groups
from kverify.concrete.endpoint_set import EndpointSet
from kverify.errors import InputError
from kverify.model import Cluster, Endpoint, Flow
from kverify.report import trace_groups
from kverify.report.compact_json import dumps
from kverify.results import Outcome
from kverify.testing.strategies import clusters_and_flows
from tests.test_trace_groups import _manifests

TRACE = ["--service", "shop/web", "--to", "node-port", "--from", "external"]


def _routing_peak(monkeypatch: pytest.MonkeyPatch, path: str, output: Path, fmt: str) -> int:
    """Peak bytes allocated by ``kverify trace`` after the cluster is loaded (output written to a file)."""
    to_cluster = kverify.load.to_cluster
    loaded_at: list[int] = []

    def measured(*args: Any, **kwargs: Any) -> Any:
        cluster = to_cluster(*args, **kwargs)
        tracemalloc.reset_peak()
        loaded_at.append(tracemalloc.get_traced_memory()[0])
        return cluster

    monkeypatch.setattr(kverify.load, "to_cluster", measured)
    with output.open("w") as out:
        monkeypatch.setattr("sys.stdout", out)
        tracemalloc.start()
        try:
            assert main(["trace", path, *TRACE, "--format", fmt]) == 0
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
            monkeypatch.undo()
    return peak - loaded_at[0]


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_trace_from_every_node_holds_memory_linear_in_nodes_and_endpoints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    """200 nodes, 2,000 endpoints, traced from every node: with eTP Local each endpoint is reached from
    its own node (2,000 outcomes), with eTP Cluster from every node (400,000). Memory linear in nodes +
    endpoints is about the same for both (now 1.2x for text, 1.4x for JSON); memory that grows with the
    outcomes is not (before the groups were streamed: 3.6x and 55x)."""
    nodes, endpoints = 200, 2000
    peaks = {}
    for etp in ("Local", "Cluster"):
        output = tmp_path / f"trace-{etp}.{fmt}"
        peaks[etp] = _routing_peak(
            monkeypatch, _manifests(tmp_path, nodes=nodes, per_node=endpoints // nodes, etp=etp), output, fmt
        )
        text = output.read_text()
        outcomes = nodes * endpoints if etp == "Cluster" else endpoints
        if fmt == "json":  # every outcome is there
            reached: dict[str, set[str]] = {}
            for group in json.loads(text)["outcome_groups"]:
                assert group["count"] == len(group["endpoints"])
                reached.setdefault(group["node"], set()).update(e["ip"] for e in group["endpoints"])
            assert list(reached) == [f"node-{i}" for i in range(nodes)]
            assert sum(map(len, reached.values())) == outcomes
        else:  # one line per node and kind of endpoint reached: its own, and (Cluster) the others
            assert f"{outcomes} outcome(s): {outcomes} delivered" in text
            assert text.count("  at node-") == (2 if etp == "Cluster" else 1) * nodes
    assert peaks["Cluster"] < 2.5 * peaks["Local"], peaks


@settings(max_examples=60)
@given(pair=clusters_and_flows(max_nodes=4, max_endpoints=6), name=st.text(max_size=3))
def test_groups_written_as_they_come_are_the_document_encoded_at_once(pair: tuple[Cluster, Flow], name: str) -> None:
    cluster, flow = pair
    try:
        groups = list(iter_outcome_groups(cluster, flow))
    except InputError:  # not modelled, or a flow the cluster refuses: nothing is written
        return
    document: dict[str, object] = {"service": name, "outcomes": None, "outcome_groups": trace_groups.PLACEHOLDER}
    document["warnings"] = [name]
    written = io.StringIO()
    trace_groups.write_json(document, iter(groups), written.write)
    whole = {**document, "outcome_groups": [g.to_json() for g in groups]}
    assert written.getvalue() == dumps(whole) + "\n"


def test_a_document_that_spells_the_placeholder_elsewhere_is_encoded_whole() -> None:
    document = {"service": trace_groups.PLACEHOLDER, "outcome_groups": trace_groups.PLACEHOLDER}
    written = io.StringIO()
    trace_groups.write_json(document, iter(()), written.write)
    assert json.loads(written.getvalue()) == {"service": trace_groups.PLACEHOLDER, "outcome_groups": []}


_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=4) | st.sampled_from(
    ["web-1", 'a"b', "c\\d", "\x7f", "é"]
)


@settings(max_examples=200)
@given(
    rows=st.lists(st.tuples(_TEXT, st.none() | _TEXT, st.none() | _TEXT), min_size=1, max_size=6),
    picked=st.lists(st.integers(min_value=0, max_value=5), min_size=1, max_size=6),
)
def test_a_group_written_from_endpoint_texts_is_its_json_encoded(
    rows: list[tuple[str, str | None, str | None]], picked: list[int]
) -> None:
    """The endpoints' texts are quoted as they are when nothing in them is escaped, else encoded one
    by one: either way a group's text is ``dumps(group.to_json())``, quotes, backslashes, DEL and
    non-ASCII characters included (values the loader would refuse, but a library caller may pass)."""
    with attrs.validators.disabled():
        endpoints = tuple(Endpoint(ip=ip, node_name=node, pod=pod) for ip, node, pod in rows)
    members = EndpointSet(endpoints, {}, {}, 0)
    positions = tuple(sorted({i % len(rows) for i in picked}))
    group = OutcomeGroup(outcome=Outcome(node="node-1", delivered=True), positions=positions, members=members)
    assert group.rows() == [rows[i] for i in positions]
    written = io.StringIO()
    trace_groups.write_json({"outcome_groups": trace_groups.PLACEHOLDER}, iter([group, group]), written.write)
    assert written.getvalue() == dumps({"outcome_groups": [group.to_json(), group.to_json()]}) + "\n"


@settings(max_examples=200)
@given(
    chosen=st.sets(st.integers(min_value=0, max_value=30), min_size=1, max_size=12)
    | st.builds(lambda a, n: set(range(a, a + n)), st.integers(0, 20), st.integers(1, 10)),
    limit=st.none() | st.integers(min_value=0, max_value=14),
)
def test_a_group_picks_its_positions_values_whether_they_run_or_not(chosen: set[int], limit: int | None) -> None:
    """``pick`` gives ``values[i]`` for each position, in order (the first ``limit``): a run of
    consecutive positions is read as a slice, any other set one position at a time."""
    values = [f"v{i}" for i in range(31)]
    positions = tuple(sorted(chosen))
    group = OutcomeGroup(outcome=Outcome(node="node-1", delivered=True), positions=positions, members=None)
    kept = positions if limit is None else positions[:limit]
    assert group.pick(values, limit) == [values[i] for i in kept]
    assert group.pick(tuple(values), limit) == [values[i] for i in kept]
