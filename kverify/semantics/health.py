"""The health-check node port kube-proxy serves for eTP Local LoadBalancer Services."""

from __future__ import annotations

from kverify.model.enums import TYPE_LOAD_BALANCER
from kverify.semantics.endpoints import has_local_ready
from kverify.semantics.ops import Ops, Term
from kverify.semantics.registry import rule
from kverify.semantics.vocabulary import Situation

K8S = "kubernetes/kubernetes"


@rule(
    "health-check-node-port-allocated",
    title="Only a LoadBalancer Service with eTP Local gets a healthCheckNodePort.",
    source=f"{K8S} pkg/api/v1/service/util.go NeedsHealthCheck; nftables/proxier_test.go TestBuildServiceMapAddRemove",
    since="v1.7",
)
def needs_health_check(ops: Ops, s: Situation) -> Term:
    return ops.and_(ops.eq(s.service_type, TYPE_LOAD_BALANCER), s.etp_local_spec)


@rule(
    "health-check-status",
    title="The health-check node port answers 200 iff the node has a local Ready endpoint "
    "(and kube-proxy is healthy), else 503; serving-terminating endpoints do not count.",
    source=f"{K8S} pkg/proxy/healthcheck/service_health.go hcHandler.ServeHTTP; "
    "pkg/proxy/endpoints.go LocalReadyEndpoints",
    since="v1.22 (Ready-only count, LocalReadyEndpoints)",
)
def health_check_passes(ops: Ops, s: Situation, node: Term) -> Term:
    return has_local_ready(ops, s, node)
