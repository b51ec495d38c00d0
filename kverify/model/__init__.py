"""The model: frozen values describing a cluster and a flow. Imports nothing from other layers."""

from typing import TYPE_CHECKING

from kverify.model.cluster import (
    Cluster,
    Endpoint,
    EndpointPort,
    LoadBalancerIngress,
    Node,
    ProxyConfig,
    Service,
    ServicePort,
)
from kverify.model.enums import (
    KUBE_PROXY_DATAPLANES,
    ClientKind,
    Cni,
    Dataplane,
    Destination,
    DropKind,
    Interface,
    IPMode,
    LoadBalancerProfile,
    Protocol,
    ReplyPath,
    ServiceType,
    SessionAffinity,
    TrafficPolicy,
)
from kverify.model.flow import Flow

if TYPE_CHECKING:
    from kverify.model.address_flow import AddressFlow

__all__ = [
    "KUBE_PROXY_DATAPLANES",
    "AddressFlow",
    "ClientKind",
    "Cluster",
    "Cni",
    "Dataplane",
    "Destination",
    "DropKind",
    "Endpoint",
    "EndpointPort",
    "Flow",
    "IPMode",
    "Interface",
    "LoadBalancerIngress",
    "LoadBalancerProfile",
    "Node",
    "Protocol",
    "ProxyConfig",
    "ReplyPath",
    "Service",
    "ServicePort",
    "ServiceType",
    "SessionAffinity",
    "TrafficPolicy",
]


def __getattr__(name: str) -> object:
    # A packet to an address of no Service is a rare question: its class is built on first use.
    if name == "AddressFlow":
        from kverify.model.address_flow import AddressFlow

        return AddressFlow
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
