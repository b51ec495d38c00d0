"""Handling nodes alike are decided once (``kverify/concrete/alike.py``): the shortcut that finds a
handling's kind from what it adds to its flow's shared fields must never share a decision between
handlings whose renamed situations differ."""

from __future__ import annotations

import attrs
from hypothesis import given, settings

from kverify.concrete.alike import HANDLING, HANDLING_ZONE, _kind, renamed, renamed_views
from kverify.concrete.route import _service, handlings
from kverify.errors import InputError
from kverify.model import Cluster, Flow
from kverify.model.versions import VERSIONS
from kverify.semantics.vocabulary import EndpointView
from kverify.testing.strategies import clusters_and_flows


def test_renamed_views_carry_every_field_of_an_endpoint_view() -> None:
    """Each view is rebuilt field by field: a field added to EndpointView and not carried over would
    make two different endpoints look alike. Every field here differs from its default."""
    values = {
        "node": 4,
        "ready": False,
        "serving": False,
        "terminating": True,
        "zone_hints": frozenset({1, 2}),
        "has_zone_hints": True,
        "node_hints": frozenset({4, 7}),
        "has_node_hints": True,
        "is_client": True,
        "present": False,
    }
    assert {f.name for f in attrs.fields(EndpointView)} == set(values), "renamed_views must carry the new field"
    view = EndpointView(**values)  # type: ignore[arg-type]
    # Seen from node 4 in zone 1: the node and the zone become the placeholders, nothing else changes.
    expected = attrs.evolve(
        view, node=HANDLING, zone_hints=frozenset({HANDLING_ZONE, 2}), node_hints=frozenset({HANDLING, 7})
    )
    assert renamed_views((view,), 4, 1) == (expected,)
    # Seen from another node: only the zone is renamed.
    assert renamed_views((view,), 5, 2) == (attrs.evolve(view, zone_hints=frozenset({1, HANDLING_ZONE})),)


@settings()  # examples per profile: 100 by default, 600 in CI (tests/conftest.py)
@given(clusters_and_flows(max_nodes=5, max_endpoints=8, kubernetes_versions=VERSIONS))
def test_handlings_of_one_kind_have_one_renamed_situation(pair: tuple[Cluster, Flow]) -> None:
    """Two handlings of a flow that the shortcut calls alike have equal renamed reduced situations,
    which is what the rule table reads: so they get the same decision and the same explanations."""
    cluster, flow = pair
    try:
        found = handlings(cluster, flow, _service(cluster, flow))
    except InputError:
        return  # a flow the CLI would refuse
    by_kind: dict[object, object] = {}
    for h in found:
        assert h.shared is not None
        situation = renamed(h.reduced)
        assert by_kind.setdefault(_kind(h, h.shared), situation) == situation


def _perturbed(h, name: str, nodes: int) -> list:  # type: ignore[no-untyped-def]
    """``h`` with its own field ``name`` set to each other value it could take."""
    value = getattr(h.frame, name)
    values = [not value] if isinstance(value, bool) else [v for v in (-1, *range(nodes)) if v != value]
    return [attrs.evolve(h, frame=attrs.evolve(h.frame, **{name: v})) for v in values]


@settings()
@given(clusters_and_flows(max_nodes=4, max_endpoints=6, kubernetes_versions=VERSIONS))
def test_a_handling_that_differs_in_any_own_field_is_of_another_kind_unless_renamed_alike(
    pair: tuple[Cluster, Flow],
) -> None:
    """Each field a handling gives itself, changed: its kind changes whenever its renamed situation
    does (the client's node, the captured address, the source ranges, ...: none may be left out), and
    whenever the CNI's SNAT of the pod's packet does (the explanations read it)."""
    cluster, flow = pair
    try:
        found = handlings(cluster, flow, _service(cluster, flow))
    except InputError:
        return
    for h in found[:1]:
        assert h.shared is not None
        names = [n for n in h.shared.own_names if n != "endpoints"]
        assert {"client_node", "handling_node", "address_captured", "src_allowed_by_ranges"} <= set(names)
        variants = [h] + [v for name in names for v in _perturbed(h, name, len(cluster.nodes))]
        # Whether the CNI masqueraded the pod's packet first is not in the situation, but in the explanations.
        variants.append(attrs.evolve(h, pod_ip=None if h.pod_ip else "10.0.0.9"))
        by_kind: dict[object, object] = {}
        for v in variants:
            seen = (renamed(v.reduced), v.pod_ip is not None)
            assert by_kind.setdefault(_kind(v, h.shared), seen) == seen
