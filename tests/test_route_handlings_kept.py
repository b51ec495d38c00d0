"""The handlings of a flow kept with its cluster (asked again by a check) are the flow's own, and mark its rules."""

from __future__ import annotations

import attrs
from hypothesis import given, settings

from kverify.concrete.classify import Handling
from kverify.concrete.route import _handlings, _service, handlings
from kverify.errors import InputError
from kverify.model import Cluster, Flow
from kverify.model.versions import VERSIONS
from kverify.semantics.registry import mark, recording
from kverify.testing.strategies import clusters_and_flows


def _fields(found: list[Handling]) -> list[tuple[object, ...]]:
    """What a handling holds, its endpoint set by its endpoints, without the flow frame it was built from
    (one cluster's objects are not equal to another's)."""
    return [
        (*attrs.astuple(h, recurse=False, filter=lambda a, _: a.name not in ("members", "shared")), h.endpoints)
        for h in found
    ]


@settings()
@given(clusters_and_flows(max_nodes=4, max_endpoints=6, kubernetes_versions=VERSIONS))
def test_handlings_asked_again_are_those_worked_out_afresh_with_the_same_rules(pair: tuple[Cluster, Flow]) -> None:
    """The second answer for one flow (kept) equals the first and one worked out in a fresh copy of the
    cluster (nothing kept), and marks the rules working them out marks; another flow gets its own."""
    cluster, flow = pair
    try:
        service = _service(cluster, flow)
        with recording() as first_rules:
            first = handlings(cluster, flow, service)
    except InputError:
        return
    with recording() as again_rules:
        again = handlings(cluster, flow, service)
    fresh_cluster = attrs.evolve(cluster)
    with recording() as fresh_rules:
        fresh = _handlings(fresh_cluster, flow, _service(fresh_cluster, flow), lb_picks=False)
    assert again == first
    assert _fields(again) == _fields(fresh)
    assert again_rules == first_rules == fresh_rules
    for other in cluster.nodes:  # another flow of the cluster is not answered from the one kept
        moved = attrs.evolve(flow, node=other.name)
        try:
            expected = _handlings(fresh_cluster, moved, _service(fresh_cluster, moved), lb_picks=False)
        except InputError:
            continue
        assert _fields(handlings(cluster, moved, service)) == _fields(expected)


def test_a_recording_ends_its_own_set_when_an_enclosing_one_holds_the_same_rules() -> None:
    """Nested recordings that saw the same rules are equal sets: the inner one ending must leave the outer
    one recording (list.remove would take the first equal set, the outer)."""
    with recording() as outer:
        mark("ip-family")
        with recording() as inner:
            mark("ip-family")
        assert inner == outer
        mark("service-port-unmatched")
    assert outer == {"ip-family", "service-port-unmatched"}
    assert inner == {"ip-family"}
