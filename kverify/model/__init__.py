"""The model: frozen values describing a cluster and a flow. Imports nothing from other layers."""

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
    Dataplane,
    Destination,
    DropKind,
    IPMode,
    LoadBalancerProfile,
    Protocol,
    ReplyPath,
    ServiceType,
    SessionAffinity,
    TrafficPolicy,
)
from kverify.model.flow import Flow

__all__ = [
    "KUBE_PROXY_DATAPLANES",
    "ClientKind",
    "Cluster",
    "Dataplane",
    "Destination",
    "DropKind",
    "Endpoint",
    "EndpointPort",
    "Flow",
    "IPMode",
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
