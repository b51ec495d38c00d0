"""Converters from one Kubernetes object (a plain dict) to model values: Nodes and EndpointSlices
(Services: :mod:`kverify.load.services`; workloads: :mod:`kverify.load.workloads`).

Each converter records every problem it finds in its :class:`~kverify.load.fields.Ctx` and returns
what it could build (``None`` when the object is unusable), or a :class:`Skip` with the reason the
object gets no proxy rules. Defaults are the API server's (``protocol: TCP``, ``type: ClusterIP``,
traffic policies ``Cluster``) and kube-proxy's (EndpointSlice conditions, see
``pkg/proxy/endpointslicecache.go`` ``newEndpointSliceInfo``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from kverify.load.fields import IPV4, Ctx, invalid, is_ip, unsupported, validators_off
from kverify.load.slice_columns import TypedEntries, plain_columns, typed_columns
from kverify.model.cluster import Endpoint, EndpointPort, Node
from kverify.model.endpoint_columns import EndpointColumns
from kverify.model.enums import Protocol
from kverify.model.node_meta import Taint

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
ZONE_LABEL = "topology.kubernetes.io/zone"
AUTOSCALER_TAINT = "ToBeDeletedByClusterAutoscaler"


@attrs.frozen
class Skip:
    """The object is valid but kverify builds nothing from it, for this reason."""

    reason: str


@attrs.define  # not frozen: one per slice, and a frozen class's __init__ writes through object.__setattr__
class SliceRecord:
    """An EndpointSlice's contribution: the Service it names and its endpoints (nothing changes it).

    A slice is recorded only when all its entries are valid, so ``endpoints[i]`` is ``endpoints[i]``
    of the manifest (the index of a field path in a warning)."""

    service: str | None  # the kubernetes.io/service-name label
    endpoints: tuple[Endpoint, ...] | EndpointColumns  # columns when every entry was plain
    #: Every endpoint's node name is that of a Node object of the same file (decoded so: see
    #: :class:`~kverify.load.slice_typed.SliceDecoder`), so none can be missing from the manifests.
    nodes_known: bool = False


def node_from(ctx: Ctx, obj: dict[str, Any], name: str) -> Node | None:
    """A Node: InternalIPs then ExternalIPs (kube-proxy's node IP is the first), zone, pod CIDRs."""
    meta, spec, status = obj["metadata"], ctx.mapping(obj, "spec", ()), ctx.mapping(obj, "status", ())
    internal: list[str] = []
    external: list[str] = []
    for i, entry in enumerate(ctx.list_of(status, "addresses", ("status",))):
        kind = entry.get("type") if type(entry) is dict else None
        address = entry.get("address") if type(entry) is dict else None
        if not (type(kind) is str and kind and type(address) is str and address):  # else nothing to report
            kind, address = _address_fields(ctx, entry, i)
        if (
            kind in _NODE_IPS
            and address is not None
            and (is_ip(address) or ctx.ip(address, ("status", "addresses", i, "address")) is not None)
        ):
            target = internal if kind == "InternalIP" else external
            if address not in internal and address not in external:
                target.append(address)
    labels = ctx.mapping(meta, "labels", ("metadata",))
    zone = ctx.string(labels, ZONE_LABEL, ("metadata", "labels"))
    pod_cidrs: list[str] = []
    for i, cidr in enumerate(ctx.strings(spec, "podCIDRs", ("spec",))):
        if (checked := ctx.cidr(cidr, ("spec", "podCIDRs", i))) is not None:
            pod_cidrs.append(checked)
    single = ctx.string(spec, "podCIDR", ("spec",))
    if not pod_cidrs and single is not None and (checked := ctx.cidr(single, ("spec", "podCIDR"))) is not None:
        pod_cidrs.append(checked)
    raw_taints = ctx.list_of(spec, "taints", ("spec",))
    draining = meta.get("deletionTimestamp") is not None or (
        bool(raw_taints) and any(type(t) is dict and t.get("key") == AUTOSCALER_TAINT for t in raw_taints)
    )
    taints: tuple[Taint, ...] = ()
    if raw_taints:
        # Here, not at the top: the scheduling reader brings the workload model, which a snapshot of
        # untainted nodes (and every trace of one) need not import.
        from kverify.load.scheduling import taints_from

        taints = tuple(t for t in taints_from(ctx, spec) if t.key != AUTOSCALER_TAINT)
    other_labels: list[tuple[str, str]] = []
    for key, value in labels.items():
        if type(value) is not str:
            ctx.error(("metadata", "labels", str(key)), invalid(value, "must be a string"))
        elif key != ZONE_LABEL:
            other_labels.append((key, value))
    # Every field was checked above (name, each address and CIDR, zone): the model's validators, an
    # ``ipaddress`` parse per address and CIDR, would only repeat it.
    with validators_off():
        try:
            return Node(
                name=name,
                addresses=(*internal, *external),
                zone=zone,
                pod_cidrs=pod_cidrs,
                draining=draining,
                labels=other_labels,
                taints=taints,
            )
        except (ValueError, TypeError) as exc:  # pragma: no cover - the converters take any iterable
            ctx.model_error(exc)
            return None


_NODE_IPS = ("InternalIP", "ExternalIP")


def _address_fields(ctx: Ctx, entry: object, i: int) -> tuple[str | None, str | None]:
    """``type`` and ``address`` of ``status.addresses[i]``, each problem recorded (``None`` for a bad one)."""
    path = ("status", "addresses", i)
    if type(entry) is not dict:
        ctx.error(path, invalid(entry, "must be a mapping"))
        return None, None
    return ctx.string(entry, "type", path, required=True), ctx.string(entry, "address", path, required=True)


def slice_from(
    ctx: Ctx, obj: dict[str, Any], namespace: str, node_names: Mapping[str, str] | None = None
) -> SliceRecord | Skip | None:
    """An EndpointSlice: one endpoint per entry of ``endpoints`` (kube-proxy uses ``addresses[0]``).
    ``node_names`` maps the names of the Nodes read so far to themselves (see ``typed_columns``)."""
    address_type = obj.get("addressType")
    if address_type == "FQDN":
        return Skip("addressType FQDN is not used by kube-proxy")
    if address_type not in ("IPv4", "IPv6"):
        if address_type is None:
            ctx.error(("addressType",), "Required value")
        else:
            ctx.error(("addressType",), unsupported(address_type, ("FQDN", "IPv4", "IPv6")))
        return None
    before = len(ctx.problems)
    labels = ctx.mapping(obj["metadata"], "labels", ("metadata",))
    service = ctx.string(labels, SERVICE_NAME_LABEL, ("metadata", "labels"))
    if service is None:
        ctx.warn(("metadata", "labels"), f"no {SERVICE_NAME_LABEL} label: kube-proxy ignores this EndpointSlice")
    ports = _slice_ports(ctx, obj)
    entries = obj.get("endpoints")
    # Decoded typed (kverify.load.slice_typed: an IPv4 slice, its entries all plain, at least one): the
    # record _slice_endpoints' columns make below, unless an address is invalid (the careful loop's).
    if (
        type(entries) is TypedEntries
        and ports
        and len(ctx.problems) == before
        and (columns := typed_columns(entries, namespace, ports, node_names)) is not None
    ):
        return SliceRecord(service, columns, entries.nodes_known)
    endpoints = _slice_endpoints(ctx, obj, namespace, ports, v6=address_type == "IPv6", node_names=node_names)
    if len(ctx.problems) != before:
        return None
    if not ports and endpoints:
        ctx.warn(("ports",), "no usable ports: kube-proxy builds no endpoints from this EndpointSlice")
        return SliceRecord(service, ())
    if type(endpoints) is EndpointColumns:
        return SliceRecord(service, endpoints, type(entries) is TypedEntries and entries.nodes_known)
    return SliceRecord(service, tuple(endpoints))


#: The ports of slices read so far, by their (name, port, protocol) values: a snapshot's slices
#: repeat a few port lists thousands of times, and one frozen tuple serves them all.
_PORTS_READ: dict[tuple[tuple[object, int, object], ...], tuple[EndpointPort, ...]] = {}
_PORTS_READ_MAX = 4096


def _slice_ports(ctx: Ctx, obj: dict[str, Any]) -> tuple[EndpointPort, ...]:
    raw = obj.get("ports")
    key = _ports_key(raw) if type(raw) is list else None
    if key is not None and (known := _PORTS_READ.get(key)) is not None:
        return known
    before = len(ctx.problems), len(ctx.warnings)
    ports = _read_slice_ports(ctx, obj)
    if key is not None and before == (len(ctx.problems), len(ctx.warnings)):  # nothing to say again next time
        if len(_PORTS_READ) >= _PORTS_READ_MAX:
            _PORTS_READ.clear()
        _PORTS_READ[key] = ports
    return ports


def _ports_key(raw: list[Any]) -> tuple[tuple[object, int, object], ...] | None:
    """The values :func:`_read_slice_ports` reads from each port, if each is a mapping with a valid
    number and a string or null name and protocol (what decides the result without a message)."""
    key = []
    for p in raw:
        if type(p) is not dict:
            return None
        name, number, protocol = p.get("name"), p.get("port"), p.get("protocol")
        if type(number) is not int or not 1 <= number <= 65535:
            return None
        if (name is not None and type(name) is not str) or (protocol is not None and type(protocol) is not str):
            return None
        key.append((name, number, protocol))
    return tuple(key)


def _read_slice_ports(ctx: Ctx, obj: dict[str, Any]) -> tuple[EndpointPort, ...]:
    ports: list[EndpointPort] = []
    for i, p in enumerate(ctx.list_of(obj, "ports", ())):
        path = ("ports", i)
        if type(p) is not dict:
            ctx.error(path, invalid(p, "must be a mapping"))
            continue
        name = ctx.string(p, "name", path) or ""
        number = ctx.port(p, "port", path, zero_unset=False)  # a pointer in the API: 0 is invalid
        protocol = ctx.enum(p, "protocol", path, Protocol, Protocol.TCP)
        if number is None:
            if p.get("port") is None:  # endpointslicecache.go: "Ignoring invalid endpoint port"
                ctx.warn((*path, "port"), "no port number: kube-proxy ignores this port")
            continue
        ports.append(EndpointPort(name=name, port=number, protocol=protocol))
    return tuple(ports)


def _slice_endpoints(
    ctx: Ctx,
    obj: dict[str, Any],
    namespace: str,
    ports: tuple[EndpointPort, ...],
    *,
    v6: bool,
    node_names: Mapping[str, str] | None = None,
) -> list[Endpoint] | EndpointColumns:
    """The hot path of the loader: C-level passes over a plain slice, a helper call on any anomaly.

    A slice whose entries are all plain is read as columns by
    :func:`~kverify.load.slice_columns.plain_columns`; any other goes through the careful loop, which
    reports each problem. Every field of an Endpoint is checked there before it is built, so its attrs
    validators (an ``ipaddress`` parse per endpoint: a third of the loading time of a 150,000-endpoint
    snapshot) are switched off while the loop runs.
    """
    entries = obj.get("endpoints")
    if type(entries) is TypedEntries:  # decoded as plain entries of an IPv4 slice (kverify.load.slice_typed)
        if (typed := typed_columns(entries, namespace, ports, node_names)) is not None:
            return typed
        obj = {**obj, "endpoints": entries.as_dicts()}  # an address is invalid: the careful loop says which
    elif not v6 and type(entries) is list and (plain := plain_columns(entries, namespace, ports)) is not None:
        return plain
    with validators_off():
        return _endpoints_unvalidated(ctx, obj, namespace, ports, v6=v6)


_IPV4 = IPV4


def _endpoints_unvalidated(
    ctx: Ctx, obj: dict[str, Any], namespace: str, ports: tuple[EndpointPort, ...], *, v6: bool
) -> list[Endpoint]:
    out: list[Endpoint] = []
    append = out.append
    for i, e in enumerate(ctx.list_of(obj, "endpoints", ())):
        if type(e) is not dict:
            ctx.error(("endpoints", i), invalid(e, "must be a mapping"))
            continue
        addresses = e.get("addresses")
        if type(addresses) is not list or not addresses or type(addresses[0]) is not str:
            _bad_addresses(ctx, i, addresses)
            continue
        ip = addresses[0]
        if (":" in ip) != v6:
            ctx.error(("endpoints", i, "addresses", 0), invalid(ip, _family(v6)))
            continue
        if len(addresses) > 1:
            _extra_addresses(ctx, i, addresses, v6)
        ready = serving = True
        terminating = False
        conditions = e.get("conditions")
        if conditions is not None:
            if type(conditions) is not dict:
                ctx.error(("endpoints", i, "conditions"), invalid(conditions, "must be a mapping"))
                continue
            r, s, t = conditions.get("ready"), conditions.get("serving"), conditions.get("terminating")
            if not (type(r) in _OPT_BOOL and type(s) in _OPT_BOOL and type(t) in _OPT_BOOL):
                for key in ("ready", "serving", "terminating"):
                    ctx.boolean(conditions, key, ("endpoints", i, "conditions"))
                continue
            # endpointslicecache.go newEndpointSliceInfo: nil ready/serving mean true, nil terminating false.
            # The Service's publishNotReadyAddresses is already in them (podToEndpoint wrote ready: true for a
            # pod that is not Ready): a snapshot's conditions are used as they are, never derived again.
            ready, serving, terminating = r is not False, s is not False, t is True
        node = e.get("nodeName")
        if node is not None and (type(node) is not str or not node):
            ctx.error(("endpoints", i, "nodeName"), invalid(node, "must be a non-empty string"))
            continue
        pod = None
        ref = e.get("targetRef")
        if ref is not None:
            if type(ref) is not dict or type(ref.get("name")) is not str:
                ctx.error(("endpoints", i, "targetRef"), invalid(ref, "must be an object reference with a name"))
                continue
            if ref.get("kind") == "Pod":
                pod = f"{ref.get('namespace') or namespace}/{ref['name']}"
        # Validated here, so the Endpoint need not parse it again (validators are off in this loop).
        if not (_IPV4.match(ip) if not v6 else is_ip(ip)):
            ctx.error(("endpoints", i, "addresses", 0), invalid(ip, _family(v6)))
            continue
        hints = e.get("hints")
        try:
            if hints is None:
                endpoint = Endpoint(
                    ip=ip, node_name=node, ready=ready, serving=serving, terminating=terminating, pod=pod, ports=ports
                )
            else:
                zones, nodes = _hints(ctx, i, hints)
                endpoint = Endpoint(
                    ip=ip,
                    node_name=node,
                    ready=ready,
                    serving=serving,
                    terminating=terminating,
                    pod=pod,
                    ports=ports,
                    zone_hints=zones,
                    node_hints=nodes,
                )
        except ValueError:
            ctx.error(("endpoints", i, "addresses", 0), invalid(ip, _family(v6)))
            continue
        append(endpoint)
    return out


_OPT_BOOL = (type(None), bool)


def _family(v6: bool) -> str:
    return "must be a valid IPv6 address" if v6 else "must be a valid IPv4 address"


def _bad_addresses(ctx: Ctx, i: int, addresses: object) -> None:
    path: tuple[str | int, ...] = ("endpoints", i, "addresses")
    if addresses is None or addresses == []:
        ctx.error(path, "Required value: must contain at least 1 address")
    elif type(addresses) is not list:
        ctx.error(path, invalid(addresses, "must be a list"))
    else:
        ctx.error((*path, 0), invalid(addresses[0], "must be a string"))


def _extra_addresses(ctx: Ctx, i: int, addresses: list[Any], v6: bool) -> None:
    for j, extra in enumerate(addresses[1:], start=1):
        if type(extra) is not str or (":" in extra) != v6 or not is_ip(extra):
            ctx.error(("endpoints", i, "addresses", j), invalid(extra, _family(v6)))
    ctx.warn(
        ("endpoints", i, "addresses"),
        "kube-proxy uses only the first address (pkg/proxy/endpointslicecache.go); the others are ignored",
    )


def _hints(ctx: Ctx, i: int, hints: object) -> tuple[frozenset[str], frozenset[str]]:
    path: tuple[str | int, ...] = ("endpoints", i, "hints")
    if type(hints) is not dict:
        ctx.error(path, invalid(hints, "must be a mapping"))
        return frozenset(), frozenset()
    found: list[frozenset[str]] = []
    for key in ("forZones", "forNodes"):
        names = set()
        for j, entry in enumerate(ctx.list_of(hints, key, path)):
            if type(entry) is not dict:
                ctx.error((*path, key, j), invalid(entry, "must be a mapping"))
            elif (name := ctx.string(entry, "name", (*path, key, j), required=True)) is not None:
                names.add(name)
        found.append(frozenset(names))
    return found[0], found[1]
