"""The loader's last step (``_Assembly.finish``): its shortcuts give the answers of the general path."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from kverify.load.kinds import SliceRecord
from kverify.load.manifests import _Assembly, _EndpointsByService, _joined
from kverify.model import Endpoint
from tests.test_endpoint_columns import _columns_of

_ENDPOINTS = st.lists(
    st.builds(
        Endpoint,
        ip=st.sampled_from(["10.0.0.1", "10.0.0.2", "fd00::1"]),
        node_name=st.sampled_from([None, "node-a", "node-b", "elsewhere"]),
        pod=st.sampled_from([None, "shop/web-0", "shop/gone"]),
    ),
    max_size=3,
).map(tuple)
_SLICE_ENDPOINTS = st.one_of(_ENDPOINTS, _ENDPOINTS.map(_columns_of))


@given(st.lists(st.tuples(st.sampled_from(["shop/web", "shop/api", "default/db"]), _SLICE_ENDPOINTS), max_size=6))
def test_each_services_endpoints_are_its_slices_joined_in_the_order_given(
    added: list[tuple[str, tuple[Endpoint, ...]]],
) -> None:
    # finish keeps a Service's one slice as it is and lists only the others: the same endpoints as joining
    # a list of every slice of each Service (which it used to make for each).
    by_service = _EndpointsByService()
    for key, endpoints in added:
        by_service.add(key, endpoints)
    for key in ("shop/web", "shop/api", "default/db", "shop/none"):
        slices = [endpoints for k, endpoints in added if k == key]
        found, expected = by_service.of(key), _joined(slices)
        assert type(found) is type(expected) and found == expected
        if len(slices) == 1:
            assert found is slices[0]


@given(_SLICE_ENDPOINTS, st.sets(st.sampled_from(["node-a", "node-b"])))
def test_a_slice_decoded_with_its_nodes_and_no_pods_to_look_for_is_all_known(
    endpoints: tuple[Endpoint, ...], node_names: set[str]
) -> None:
    # finish does not ask _all_known about such a slice: its answer is True whatever the endpoints.
    assembly = _Assembly([])
    assert not assembly.pods
    record = SliceRecord(service="web", endpoints=endpoints, nodes_known=True)
    assert assembly._all_known(record, node_names, nodes_noted=False)
