"""Per-pod shares (kverify.distribution) and the kinds of outcome ``kverify diff`` compares
(kverify.diff.behaviour) are read from the outcome groups of each handling (route.iter_handling_groups),
one outcome per class of endpoints rather than one per endpoint. On generated clusters and flows they must
be what walking every outcome of ``route`` gives: the same shares in the same order, the same kinds with
the same first outcome and the same nodes."""

from __future__ import annotations

from collections import defaultdict
from fractions import Fraction

import attrs
from hypothesis import given, settings

from kverify.concrete import iter_handling_groups, route
from kverify.diff.behaviour import Kind
from kverify.distribution import shares_of
from kverify.errors import InputError, NotModelled
from kverify.model import Cluster, Flow
from kverify.results import Outcome
from kverify.testing.strategies import clusters_and_flows


def _shares_outcome_by_outcome(cluster: Cluster, flow: Flow) -> dict[str, Fraction]:
    by_node: dict[str | None, list[str]] = defaultdict(list)
    for outcome in route(cluster, flow):
        by_node.setdefault(outcome.node, [])
        if outcome.delivered and outcome.endpoint_ip:
            by_node[outcome.node].append(outcome.endpoint_ip)
    found: dict[str, Fraction] = defaultdict(Fraction)
    for endpoints in by_node.values():
        for ip in endpoints:
            found[ip] += Fraction(1, len(by_node)) / len(endpoints)
    return dict(found)


def _kinds(outcomes: list[Outcome]) -> tuple[dict[Kind, Outcome], dict[Kind, list[str]]]:
    first: dict[Kind, Outcome] = {}
    nodes: dict[Kind, dict[str, None]] = {}
    for outcome in outcomes:
        kind = Kind.of(outcome)
        first.setdefault(kind, outcome)
        if outcome.node is not None:
            nodes.setdefault(kind, {})[outcome.node] = None
    return first, {k: list(v) for k, v in nodes.items()}


@settings(max_examples=400, deadline=None)
@given(pair=clusters_and_flows(max_nodes=5, max_endpoints=8))
def test_shares_and_kinds_from_groups_are_those_of_every_outcome(pair: tuple[Cluster, Flow]) -> None:
    cluster, flow = pair
    try:
        outcomes = list(route(cluster, flow))
    except (NotModelled, InputError):
        return
    for asked in (flow, attrs.evolve(flow, node=None)):
        expected = _shares_outcome_by_outcome(cluster, asked)
        got = shares_of(cluster, asked)
        assert got == expected and list(got) == list(expected)  # the order too: prove breaks ties by it
    groups = [group.outcome for handled in iter_handling_groups(cluster, flow) for group in handled]
    assert _kinds(groups) == _kinds(outcomes)
    for handled in iter_handling_groups(cluster, flow):
        assert len({group.outcome.node for group in handled}) == 1
