"""The msgspec structs a Service of a JSON List is decoded into (see :mod:`kverify.load.service_typed`).

Each field is of a type the plain Service reader (:mod:`kverify.load.plain_service`) takes: an enum
field a ``Literal`` of its spellings, a port number an integer in range, a selector a mapping of
strings, a list the plain reader wants empty of length 0. ``null`` reads as absent, as the plain
reader reads it. Fields kverify does not read are skipped. Apart from the reader: only a JSON List
needs msgspec, and the loader imports the reader for every input.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from kverify.load.typed_fields import typed_item

_UNSET: Any = msgspec.UNSET
_PortNumber = Annotated[int, msgspec.Meta(ge=1, le=65535)]
_Policy = Literal["Cluster", "Local"]
#: Lists the plain reader takes only empty (it leaves a Service with any entry to the careful reader).
_Empty = Annotated[list[Any], msgspec.Meta(max_length=0)]


class TypedPort(msgspec.Struct, frozen=True, gc=False):
    """One entry of ``spec.ports`` the plain reader takes; ``targetPort`` is checked in Python."""

    port: _PortNumber
    name: str | None = None
    protocol: Literal["TCP", "UDP", "SCTP"] | None = None
    nodePort: Annotated[int, msgspec.Meta(ge=0, le=65535)] | None = None
    targetPort: int | str | None = None


class TypedSpec(msgspec.Struct, gc=False):
    """The ``spec`` fields kverify reads, each of a type the plain reader takes (``null`` is absent)."""

    type: Literal["ClusterIP", "NodePort", "LoadBalancer"] | None = None  # ExternalName: the careful reader
    clusterIP: str | None = None
    clusterIPs: tuple[str, ...] | None = None
    ipFamilies: tuple[Literal["IPv4", "IPv6"], ...] | None = None
    ipFamilyPolicy: Literal["SingleStack", "PreferDualStack", "RequireDualStack", ""] | None = None
    ports: tuple[TypedPort, ...] | None = None
    selector: dict[str, str] | None = None
    sessionAffinity: Literal["None", "ClientIP"] | None = None
    externalTrafficPolicy: _Policy | None = None
    internalTrafficPolicy: _Policy | None = None
    healthCheckNodePort: int | None = None
    externalIPs: _Empty | None = None
    loadBalancerSourceRanges: _Empty | None = None
    allocateLoadBalancerNodePorts: bool | None = None
    loadBalancerIP: str | None = None
    loadBalancerClass: str | None = None
    publishNotReadyAddresses: bool | None = None
    trafficDistribution: str | None = None


class TypedIngress(msgspec.Struct, gc=False):
    """One entry of ``status.loadBalancer.ingress``."""

    ip: str | None = None
    hostname: str | None = None
    ipMode: Literal["VIP", "Proxy", ""] | None = None


class TypedLoadBalancerStatus(msgspec.Struct, gc=False):
    ingress: list[TypedIngress] | None = None


class TypedStatus(msgspec.Struct, gc=False):
    loadBalancer: TypedLoadBalancerStatus | None = None


class TypedService(msgspec.Struct, gc=False):
    """A Service whose ``spec`` and ``status`` are of the types the plain reader takes; ``apiVersion`` and
    ``metadata`` as the json module gives them (the generic checks of every object read them). ``kind``
    is a field, not a msgspec tag: a tag may be left out, and an object without ``kind`` is no Service."""

    kind: Literal["Service"]
    spec: TypedSpec
    apiVersion: Any = _UNSET
    metadata: Any = _UNSET
    status: TypedStatus | None = None

    def as_item(self, source: msgspec.Raw) -> dict[str, Any]:
        """The object as the loader takes it: ``kind``, ``apiVersion`` and ``metadata`` as the json module
        gives them (absent when absent), and under ``spec`` a
        :class:`~kverify.load.typed_fields.TypedFields` (``source`` is the object's text, decoded again
        if the careful reader is needed)."""
        return typed_item("Service", self, source, _decode_plain, _UNSET)


#: The decoder of an element that may be a plain Service (raises msgspec.DecodeError otherwise).
decode_service = msgspec.json.Decoder(TypedService).decode
_decode_plain = msgspec.json.Decoder().decode
