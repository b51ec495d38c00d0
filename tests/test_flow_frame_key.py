"""A flow frame's key is its shared fields' values but the node views, in order, whatever the fields."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from kverify.concrete.classify import FlowFrame

# Names of the situation's fields (some shared by every flow, some a handling's own), "nodes" among them.
_NAMES = ["dataplane", "service_type", "nodes", "client", "destination", "k8s_minor", "cni", "handling_node"]


@given(st.lists(st.sampled_from(_NAMES), unique=True), st.data())
def test_the_key_is_every_shared_value_but_the_nodes_in_order(names: list[str], data: st.DataObject) -> None:
    fields: dict[str, object] = {name: data.draw(st.integers() | st.text(), label=name) for name in names}
    for _ in range(2):  # the second frame with these names reads where "nodes" is from what the first kept
        frame = FlowFrame(dict(fields), ip_modes=False)
        assert frame.key == tuple(value for name, value in fields.items() if name != "nodes")
        assert set(frame.own_names).isdisjoint(fields)
