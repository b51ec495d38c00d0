"""Endpoints (v1) objects, as the EndpointSlice mirroring controller turns them into EndpointSlices.

kube-proxy reads EndpointSlices only. A Service without a selector gets its endpoints by hand, and
people still write them as a v1 ``Endpoints`` object (a database outside the cluster, a legacy
manifest); kube-controller-manager's mirroring controller copies it into EndpointSlices, which is
what kube-proxy routes to. The rules, from ``kubernetes/kubernetes``
``pkg/controller/endpointslicemirroring`` (read at d83cd48e / d030b9e3):

- ``endpointslicemirroring_controller.go`` ``syncEndpoints``: mirrored only when a Service of the same
  name exists and has no selector (``svc.Spec.Selector != nil`` leaves the EndpointSlice controller in
  charge), and ``shouldMirror``: not when the Endpoints is labelled
  ``endpointslice.kubernetes.io/skip-mirror: "true"`` or carries the leader-election annotation
  ``control-plane.alpha.kubernetes.io/leader``;
- ``reconciler.go`` ``reconcile``: ``subsets[].addresses`` become endpoints with ``ready: true``,
  ``notReadyAddresses`` with ``ready: false``, at most ``--mirroring-max-endpoints-per-subset`` (1000
  by default) per subset, the ready ones first; ``utils.go`` ``addressToEndpoint`` sets only
  ``ready`` (kube-proxy reads a missing ``serving`` as true, ``terminating`` as false), and copies
  ``nodeName`` and ``targetRef``; each subset's ``ports`` are the slice's ports.

An empty ``selector: {}`` counts as none, as for the EndpointSlice controller (the API server stores
it as nil). A snapshot holds the mirrored EndpointSlices already: the Endpoints is then not read
again (see :mod:`kverify.load.manifests`).
"""

from __future__ import annotations

from typing import Any

import attrs

from kverify.load.fields import Ctx, invalid
from kverify.load.kinds import Skip
from kverify.model.cluster import Endpoint, EndpointPort
from kverify.model.enums import Protocol

SKIP_MIRROR_LABEL = "endpointslice.kubernetes.io/skip-mirror"
LEADER_ANNOTATION = "control-plane.alpha.kubernetes.io/leader"
#: kube-controller-manager --mirroring-max-endpoints-per-subset (default 1000).
MAX_ENDPOINTS_PER_SUBSET = 1000


@attrs.frozen
class MirrorRecord:
    """The endpoints an Endpoints object would be mirrored into, if its Service allows it."""

    endpoints: tuple[Endpoint, ...]
    #: Addresses past the per-subset limit, which the controller leaves out.
    over_limit: int = 0


def never_mirrored(ctx: Ctx, obj: dict[str, Any]) -> Skip | None:
    """Why the controller never copies this Endpoints, whatever its Service (``shouldMirror``), if so."""
    meta = obj["metadata"]
    if ctx.mapping(meta, "labels", ("metadata",)).get(SKIP_MIRROR_LABEL) == "true":
        return Skip(f'labelled {SKIP_MIRROR_LABEL}: "true": the mirroring controller does not copy it')
    if LEADER_ANNOTATION in ctx.mapping(meta, "annotations", ("metadata",)):
        return Skip("a leader-election lock, not endpoints: the mirroring controller does not copy it")
    return None


def endpoints_from(ctx: Ctx, obj: dict[str, Any], namespace: str) -> MirrorRecord | None:
    """What mirroring makes of an Endpoints object its Service lets it copy (``None``: it holds a problem).
    Read only then: a snapshot's Endpoints of Services with selectors are never parsed."""
    before = len(ctx.problems)
    endpoints: list[Endpoint] = []
    over_limit = 0
    for i, subset in enumerate(ctx.list_of(obj, "subsets", ())):
        path = ("subsets", i)
        if type(subset) is not dict:
            ctx.error(path, invalid(subset, "must be a mapping"))
            continue
        ports = _ports(ctx, subset, path)
        taken = 0
        for key, ready in (("addresses", True), ("notReadyAddresses", False)):
            for j, address in enumerate(ctx.list_of(subset, key, path)):
                endpoint = _endpoint(ctx, address, (*path, key, j), namespace, ports, ready)
                if endpoint is None:
                    continue
                if taken == MAX_ENDPOINTS_PER_SUBSET:
                    over_limit += 1
                    continue
                taken += 1
                endpoints.append(endpoint)
    if len(ctx.problems) != before:
        return None
    if over_limit:
        ctx.warn(
            ("subsets",),
            f"{over_limit} addresses past {MAX_ENDPOINTS_PER_SUBSET} in a subset: the mirroring controller "
            "leaves them out of the EndpointSlices",
        )
    return MirrorRecord(tuple(endpoints), over_limit)


def _ports(ctx: Ctx, subset: dict[str, Any], path: tuple[Any, ...]) -> tuple[EndpointPort, ...]:
    ports: list[EndpointPort] = []
    for k, p in enumerate(ctx.list_of(subset, "ports", path)):
        port_path = (*path, "ports", k)
        if type(p) is not dict:
            ctx.error(port_path, invalid(p, "must be a mapping"))
            continue
        name = ctx.string(p, "name", port_path) or ""
        number = ctx.port(p, "port", port_path, required=True)
        protocol = ctx.enum(p, "protocol", port_path, Protocol, Protocol.TCP)
        if number is not None:
            ports.append(EndpointPort(name=name, port=number, protocol=protocol))
    return tuple(ports)


def _endpoint(
    ctx: Ctx,
    address: Any,
    path: tuple[Any, ...],
    namespace: str,
    ports: tuple[EndpointPort, ...],
    ready: bool,
) -> Endpoint | None:
    if type(address) is not dict:
        ctx.error(path, invalid(address, "must be a mapping"))
        return None
    ip = ctx.string(address, "ip", path, required=True)
    if ip is None or ctx.ip(ip, (*path, "ip")) is None:
        return None
    node = ctx.string(address, "nodeName", path)
    pod = None
    ref = address.get("targetRef")
    if ref is not None:
        if type(ref) is not dict or type(ref.get("name")) is not str:
            ctx.error((*path, "targetRef"), invalid(ref, "must be an object reference with a name"))
            return None
        if ref.get("kind") == "Pod":
            pod = f"{ref.get('namespace') or namespace}/{ref['name']}"
    # addressToEndpoint sets only ready; kube-proxy reads a missing serving as true, terminating as false.
    return Endpoint(ip=ip, node_name=node or None, ready=ready, serving=True, terminating=False, pod=pod, ports=ports)
