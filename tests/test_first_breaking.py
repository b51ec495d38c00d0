"""A claim is decided on the first outcome that breaks its property (kverify.check.exhaustive.decide).
``route.first_breaking`` asks a property that reads only what the endpoints of one class share once per
class; it must find the very outcome a walk over every outcome of ``iter_route`` finds, for every
property, on generated clusters and flows (every dataplane, load balancer, client and destination)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kverify.check.exhaustive import PROPERTIES, Property, at_most_hops
from kverify.concrete import iter_route
from kverify.concrete.index import index_of
from kverify.concrete.route import _HandlingOutcomes, _iter_groups, first_breaking
from kverify.errors import InputError, NotModelled
from kverify.model import Cluster, Flow
from kverify.testing.strategies import clusters_and_flows

ALL = [*PROPERTIES.values(), at_most_hops(0), at_most_hops(1)]


@settings(max_examples=500, deadline=None)
@given(pair=clusters_and_flows(max_nodes=5, max_endpoints=8), prop=st.sampled_from(ALL))
def test_the_first_breaking_outcome_is_the_one_every_outcome_in_order_gives(
    pair: tuple[Cluster, Flow], prop: Property
) -> None:
    cluster, flow = pair
    names = index_of(cluster).node_names

    def breaks(outcome):  # type: ignore[no-untyped-def]
        return prop.violation(outcome, names) is not None

    try:
        expected = next((o for o in iter_route(cluster, flow) if breaks(o)), None)
    except (NotModelled, InputError):
        return
    assert first_breaking(cluster, flow, breaks, per_endpoint=prop.per_endpoint) == expected
    if not prop.per_endpoint:  # and within every handling, not only the first that breaks the property
        for handled in _iter_groups(cluster, flow):
            if isinstance(handled, _HandlingOutcomes):
                assert handled.first_breaking(breaks) == next((o for o in handled.each() if breaks(o)), None)


def test_properties_that_read_the_endpoint_are_asked_per_endpoint() -> None:
    # Endpoints of one class may sit on different nodes: whether a connection crosses nodes, and its hops,
    # differ within a class.
    assert PROPERTIES["stays-on-arrival-node"].per_endpoint and at_most_hops(1).per_endpoint
    assert not any(p.per_endpoint for k, p in PROPERTIES.items() if k != "stays-on-arrival-node")
