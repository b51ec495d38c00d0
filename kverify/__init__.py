"""kverify: prove how Kubernetes Services route traffic, or show the smallest counterexample.

The names below are the public API; everything else is reachable through its module. They are
re-exported lazily (PEP 562) so that ``import kverify`` stays cheap: pytest imports kverify's plugin
in every session of a project that installs it, and only proofs need z3.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kverify.concrete.route import route
    from kverify.errors import InputError, InternalError, KverifyError
    from kverify.load import load_manifests, to_cluster
    from kverify.model import (
        ClientKind,
        Cluster,
        Dataplane,
        Destination,
        Endpoint,
        Flow,
        LoadBalancerIngress,
        LoadBalancerProfile,
        Node,
        Protocol,
        ProxyConfig,
        Service,
        ServicePort,
        ServiceType,
        TrafficPolicy,
    )
    from kverify.prove.claims import ALL_CLAIMS, Claim, find_claim
    from kverify.prove.run import prove_claim
    from kverify.results import Hop, Outcome
    from kverify.testing.assertions import Trace, assert_holds, assert_refuted, flow_to, load_cluster, trace
    from kverify.verdicts import Counterexample, Proved, Refuted, Unknown

_WHERE = {
    "kverify.prove.run": ["prove_claim"],
    "kverify.prove.claims": ["ALL_CLAIMS", "Claim", "find_claim"],
    "kverify.concrete.route": ["route"],
    "kverify.errors": ["InputError", "InternalError", "KverifyError"],
    "kverify.load": ["load_manifests", "to_cluster"],
    "kverify.model": [
        "ClientKind",
        "Cluster",
        "Dataplane",
        "Destination",
        "Endpoint",
        "Flow",
        "LoadBalancerIngress",
        "LoadBalancerProfile",
        "Node",
        "Protocol",
        "ProxyConfig",
        "Service",
        "ServicePort",
        "ServiceType",
        "TrafficPolicy",
    ],
    "kverify.results": ["Hop", "Outcome"],
    "kverify.testing.assertions": ["Trace", "assert_holds", "assert_refuted", "flow_to", "load_cluster", "trace"],
    "kverify.verdicts": ["Counterexample", "Proved", "Refuted", "Unknown"],
}
_MODULE_OF = {name: module for module, names in _WHERE.items() for name in names}

__all__ = [
    "ALL_CLAIMS",
    "Claim",
    "ClientKind",
    "Cluster",
    "Counterexample",
    "Dataplane",
    "Destination",
    "Endpoint",
    "Flow",
    "Hop",
    "InputError",
    "InternalError",
    "KverifyError",
    "LoadBalancerIngress",
    "LoadBalancerProfile",
    "Node",
    "Outcome",
    "Protocol",
    "Proved",
    "ProxyConfig",
    "Refuted",
    "Service",
    "ServicePort",
    "ServiceType",
    "Trace",
    "TrafficPolicy",
    "Unknown",
    "assert_holds",
    "assert_refuted",
    "find_claim",
    "flow_to",
    "load_cluster",
    "load_manifests",
    "prove_claim",
    "route",
    "to_cluster",
    "trace",
]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
