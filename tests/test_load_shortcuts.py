"""The loader's shortcuts for objects that need nothing more give what the full way gives."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kverify.errors import Problem
from kverify.load import allocate as allocate_module
from kverify.load.fields import Ctx
from kverify.load.services import service_from
from tests.test_plain_service import _ANNOTATIONS, _SPECS, _STATUS, _service


def _drafts(specs: list[Any], annotations: Any, status: Any) -> tuple[list[Any], list[Problem], list[Problem]]:
    problems: list[Problem] = []
    warnings: list[Problem] = []
    drafts = []
    for i, spec in enumerate(specs):
        service = _service(spec, annotations, status, True)
        service["metadata"]["name"] = f"web-{i}"
        ctx = Ctx("svc.yaml", lambda path, i=i: i + 1, f"Service shop/web-{i}", problems, warnings)
        kwargs = service_from(ctx, service)
        if isinstance(kwargs, dict):
            drafts.append((ctx, f"shop/web-{i}", kwargs, kwargs.pop("pending")))
    return drafts, problems, warnings


def _allocated(drafts: list[Any], cidrs: tuple[str, ...]) -> tuple[list[dict[str, Any]], list[Problem], list[Problem]]:
    drafts = copy.deepcopy(drafts)  # the problem lists are shared by every ctx: copied once, together
    problems, warnings = drafts[0][0].problems, drafts[0][0].warnings
    before, warned = len(problems), len(warnings)
    allocate_module.allocate(drafts, cidrs)
    return [kwargs for _, _, kwargs, _ in drafts], problems[before:], warnings[warned:]


@settings(max_examples=400, deadline=None)
@given(
    specs=st.lists(_SPECS, min_size=1, max_size=3),
    annotations=_ANNOTATIONS,
    status=_STATUS,
    cidrs=st.sampled_from([(), ("10.96.0.0/12",), ("10.96.0.0/12", "fd00:10:96::/112"), ("fd00:10:96::/112",)]),
)
def test_services_with_nothing_pending_are_allocated_as_the_full_way_allocates_them(
    specs: list[Any], annotations: Any, status: Any, cidrs: tuple[str, ...]
) -> None:
    drafts, _, _ = _drafts(specs, annotations, status)
    if not drafts:
        return
    shortcut = _allocated(drafts, cidrs)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(allocate_module, "_nothing_pending", lambda *args: False)
        full = _allocated(drafts, cidrs)
    assert shortcut == full


_ADDRESS_ODD = st.one_of(st.none(), st.just(""), st.integers(0, 2), st.just(["10.0.0.1"]), st.just({}))


def _mostly(plain: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``plain`` three times in four, else an odd value (st.one_of would weigh each odd value like ``plain``)."""
    return st.integers(0, 3).flatmap(lambda roll: _ADDRESS_ODD if roll == 0 else plain)


_ADDRESS_ENTRIES = _mostly(
    st.fixed_dictionaries(
        {},
        optional={
            "type": _mostly(st.sampled_from(["InternalIP", "ExternalIP", "Hostname", "InternalDNS"])),
            "address": _mostly(st.sampled_from(["10.0.0.1", "10.0.0.2", "fd00::1", "node-a", "300.0.0.1", "01.2.3.4"])),
        },
    )
)


def _careful_addresses(ctx: Ctx, entries: list[Any]) -> tuple[str, ...]:
    """The node's addresses as the careful reader takes them: each field through its typed getter."""
    from kverify.load.kinds import _address_fields

    internal: list[str] = []
    external: list[str] = []
    for i, entry in enumerate(entries):
        kind, address = _address_fields(ctx, entry, i)
        if kind in ("InternalIP", "ExternalIP") and address is not None:
            if ctx.ip(address, ("status", "addresses", i, "address")) is None:
                continue
            if address not in internal and address not in external:
                (internal if kind == "InternalIP" else external).append(address)
    return (*internal, *external)


@settings(max_examples=400, deadline=None)
@given(entries=st.lists(_ADDRESS_ENTRIES, max_size=4))
def test_node_addresses_are_read_as_the_careful_getters_read_them(entries: list[Any]) -> None:
    """node_from skips the typed getters for an address entry whose type and address are non-empty strings:
    the same addresses, problems and lines as reading every entry through them."""
    from kverify.load.kinds import node_from

    def ctx(problems: list[Problem]) -> Ctx:
        return Ctx("node.yaml", lambda path: len(path), "Node n1", problems, [])

    node_problems: list[Problem] = []
    node = node_from(ctx(node_problems), {"metadata": {"name": "n1"}, "status": {"addresses": entries}}, "n1")
    careful_problems: list[Problem] = []
    addresses = _careful_addresses(ctx(careful_problems), entries)
    assert node_problems == careful_problems
    assert node is not None and node.addresses == addresses


_PORT_VALUES = st.fixed_dictionaries(
    {},
    optional={
        "name": st.one_of(st.none(), st.sampled_from(["", "http", "dns", "a" * 70]), st.integers(0, 2)),
        "port": st.one_of(st.none(), st.sampled_from([80, 8080, 0, 65535, 65536, -1, "80", 8.0, True])),
        "protocol": st.one_of(st.none(), st.sampled_from(["", "TCP", "UDP", "SCTP", "tcp", "HTTP"]), st.just(6)),
        "appProtocol": st.sampled_from(["http", "h2c"]),
    },
)


#: Ports that differ in one value only, so that slices read one after another often share all but one.
_NEAR_PORTS = st.fixed_dictionaries(
    {"port": st.sampled_from([80, 8080])},
    optional={"name": st.sampled_from(["", "http", None]), "protocol": st.sampled_from(["TCP", "UDP", "tcp", None])},
)
_SLICE_PORTS = st.one_of(
    st.lists(_NEAR_PORTS, max_size=2),
    st.lists(st.one_of(_NEAR_PORTS, _PORT_VALUES, st.just("http")), max_size=3),
    st.none(),
    st.just({}),
)


@settings(max_examples=300, deadline=None)
@given(slices=st.lists(_SLICE_PORTS, min_size=1, max_size=6))
def test_a_slices_ports_read_again_from_those_read_before_are_what_reading_them_gives(slices: list[Any]) -> None:
    from kverify.load import kinds

    def read(ports: Any, remembered: bool) -> tuple[Any, list[Problem], list[Problem]]:
        problems: list[Problem] = []
        warnings: list[Problem] = []
        ctx = Ctx("s.yaml", lambda path: len(path), "EndpointSlice shop/web-x", problems, warnings)
        read_ports = kinds._slice_ports if remembered else kinds._read_slice_ports
        return read_ports(ctx, {"ports": copy.deepcopy(ports)}), problems, warnings

    kinds._PORTS_READ.clear()
    for ports in [*slices, *slices]:  # each list of ports read twice, others read between
        careful = read(ports, remembered=False)
        remembered = read(ports, remembered=True)
        assert remembered == careful
        if careful[1] or careful[2]:  # a message is given every time: not read from memory
            assert all(known is not remembered[0] for known in kinds._PORTS_READ.values()) or not careful[0]
        elif type(ports) is list:  # remembered: one tuple serves every slice with these ports
            assert read(ports, remembered=True)[0] is remembered[0]


_OBJECT_KINDS = st.sampled_from(["Service", "Node", "EndpointSlice", "Pod", "Deployment", "ConfigMap", "Endpoints"])
_OBJECT_NAMES = st.sampled_from(["web", "web", "node-a", "Web", "", None, 7, "a" * 70, "x.y"])
_OBJECT_NAMESPACES = st.sampled_from([None, "shop", "", "Shop", 3, "default"])
_OBJECT_VERSIONS = st.sampled_from(["v1", "discovery.k8s.io/v1", "apps/v1", "v2", "", None, 1])


@st.composite
def _objects(draw: st.DrawFn) -> dict[str, Any]:
    """An object of a modelled kind or not, its identifying fields often valid, sometimes not."""
    kind = draw(_OBJECT_KINDS)
    obj: dict[str, Any] = {"kind": kind, "apiVersion": draw(_OBJECT_VERSIONS)}
    meta: dict[str, Any] = {"name": draw(_OBJECT_NAMES)}
    if (namespace := draw(_OBJECT_NAMESPACES)) is not None:
        meta["namespace"] = namespace
    if draw(st.booleans()):
        meta["labels"] = {"kubernetes.io/service-name": "web", "app": "web"}
    obj["metadata"] = draw(st.sampled_from([meta, meta, meta, None, "x"]))
    if kind == "Service":
        obj["spec"] = {"ports": [{"port": 80}], "selector": {"app": "web"}}
    elif kind == "EndpointSlice":
        obj["addressType"] = "IPv4"
        obj["endpoints"] = [{"addresses": ["10.0.0.1"], "nodeName": "node-a"}]
    elif kind == "Node":
        obj["status"] = {"addresses": [{"type": "InternalIP", "address": "10.0.1.1"}]}
    return obj


@settings(max_examples=300, deadline=None)
@given(objects=st.lists(_objects(), max_size=4))
def test_add_object_reads_well_formed_objects_as_the_full_way_reads_them(objects: list[dict[str, Any]]) -> None:
    """add_object's shortcut for a modelled kind in its apiVersion, with a name and a namespace that is a
    string or absent, gives the problems, skipped objects, lines and objects _add_unusual gives."""
    from kverify.load.manifests import _Assembly

    def read(shortcut: bool) -> tuple[object, ...]:
        assembly = _Assembly([])
        for line, obj in enumerate(objects, start=1):
            if shortcut:
                assembly.add_object("a.yaml", obj, line, lambda path: len(path))
            else:
                kind, version, meta = obj.get("kind"), obj.get("apiVersion"), obj.get("metadata")
                assembly._add_unusual("a.yaml", obj, line, lambda path: len(path), kind, version, meta)
        assembly._build_nodes()
        return (
            [str(p) for p in assembly.problems],
            [str(p) for p in assembly.warnings],
            assembly.skipped,
            assembly.first,
            [(ns, name, kwargs) for _, ns, name, kwargs in assembly.services],
            [(ns, record) for _, ns, record in assembly.slices],
            assembly.nodes,
            assembly.pods,
            assembly.intents,
            assembly.workloads,
            [(ns, name) for _, ns, name, *_ in assembly.mirrors],
            assembly.label_keys,
        )

    assert read(shortcut=True) == read(shortcut=False)
