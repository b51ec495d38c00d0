"""The client nodes of the built-in checks (kverify.check.client_nodes) and the endpoint addresses a default
pod client avoids (kverify.concrete.index.EndpointAddresses) read the endpoints only as far as asked: asked
any questions in any order, they answer as the full scan they replace does."""

from __future__ import annotations

from itertools import chain

from hypothesis import given
from hypothesis import strategies as st

from kverify.check.client_nodes import ClientNodes
from kverify.concrete.index import EndpointAddresses
from kverify.model import Endpoint, Node, Service
from tests.test_endpoint_columns import _columns_of

_NAMES = [f"node-{i}" for i in range(6)]
_IPS = [f"10.0.0.{i}" for i in range(1, 12)]


@st.composite
def _services(draw: st.DrawFn) -> list[Service]:
    """Services whose endpoints sit on some of the nodes (or none, or a node not in the cluster), as columns
    (a snapshot) or Endpoint objects (a spec)."""
    services = []
    for i in range(draw(st.integers(0, 5))):
        endpoints = draw(
            st.lists(
                st.builds(
                    Endpoint,
                    ip=st.sampled_from(_IPS),
                    node_name=st.sampled_from([None, "elsewhere", *_NAMES]),
                ),
                max_size=4,
            )
        )
        held = _columns_of(tuple(endpoints)) if draw(st.booleans()) else tuple(endpoints)
        services.append(Service(namespace="shop", name=f"svc-{i}", endpoints=held))
    return services


_NODES = st.lists(st.sampled_from(_NAMES), unique=True).map(
    lambda names: [Node(name=n, addresses=("192.0.2.1",)) for n in names]
)


@given(_NODES, _services(), st.lists(st.frozensets(st.sampled_from(_NAMES)), max_size=6))
def test_client_nodes_answer_as_the_full_list(nodes: list[Node], services: list[Service], asked: list) -> None:
    hosting = {e.node_name for s in services for e in s.endpoints}
    every = [n.name for n in nodes if n.name in hosting]  # the list facts_for used to build
    found = ClientNodes(nodes, services)
    for names in asked:
        assert found.first_not_in(names) == next((n for n in every if n not in names), None)
    assert found.first() == (every[0] if every else None)


@given(_services(), st.lists(st.sampled_from([*_IPS, "10.0.1.1", "fd00::1"]), max_size=8), st.integers(0, 3))
def test_endpoint_addresses_answer_as_a_set_of_them_all(services: list[Service], asked: list, scans: int) -> None:
    every = frozenset(e.ip for e in chain.from_iterable(s.endpoints for s in services))
    addresses = EndpointAddresses(services, scans=scans)
    for ip in asked:
        assert (ip in addresses) == (ip in every), ip
    assert 7 not in addresses  # not an address at all
