"""Rule nftables-no-endpoint-services-pre-dnat, checked against its source (issue 9).

Before PR #132456 (v1.34; backport #133969 in v1.33) kube-proxy's nftables filter chains hooked at
priority DNATPriority-10 (openshift/kubernetes@84a2e12f pkg/proxy/nftables/proxier.go
nftablesBaseChains). A priority orders chains within one hook only: filter-output runs before
nat-output on the output hook, so traffic from the node itself is looked up in
@no-endpoint-services by the LB IP or externalIP and dropped; filter-forward runs on the forward
hook, after nat-prerouting has DNATed a pod's packet (external chain 'short-circuit pod traffic'),
so the lookup ('ip daddr . meta l4proto . th dport') sees the endpoint and passes. PR #122614 says
the same of the forward hook ("it had been DNATed to endpoint IP and port"), and helpers_test.go
tracePacket runs filter-forward on the DNATed address. The flow rows are in
tests/kubernetes_cases/versions.yaml; here the solver checks the rule as encoded.
"""

from __future__ import annotations

from typing import Any

import pytest
import z3

from kverify.model import ClientKind, Dataplane, Destination
from kverify.semantics.decide import decide
from kverify.symbolic.differential import compare
from kverify.symbolic.prove import _solver
from kverify.symbolic.smt_ops import SmtOps
from kverify.symbolic.universe import Universe
from tests.kubernetes_cases import rows

ROWS = [r for r in rows.load_rows("flow") if r["id"].startswith(("nftables v1.32:", "nftables v1.34:"))]


def _etp_local_external_address(u: Universe) -> list[Any]:
    """eTP Local traffic to a LoadBalancer IP or externalIP on a version with the old chain priorities,
    outside loadBalancerSourceRanges' reach (nftables checks those first, iptables after: another rule)."""
    return [
        *u.well_formed(),
        u.k8s_minor >= 29,
        u.k8s_minor <= 32,
        u.gates["NFTablesProxyMode"],
        u.etp_local,
        z3.Or(u.destination == int(Destination.LOAD_BALANCER), u.destination == int(Destination.EXTERNAL_IP)),
        z3.Or(z3.Not(u.has_source_ranges), u.src_allowed_by_ranges),
    ]


def _nftables_differs_from_iptables(u: Universe) -> Any:
    """The drop kind or the endpoint set differs between nftables and iptables, all else equal."""
    d = decide(SmtOps(), u.situation())

    def on(term: Any, dataplane: Dataplane) -> Any:
        return z3.substitute(term, (u.dataplane, z3.IntVal(int(dataplane))))

    return z3.Or(
        on(d.drop_kind, Dataplane.NFTABLES) != on(d.drop_kind, Dataplane.IPTABLES),
        *(on(c, Dataplane.NFTABLES) != on(c, Dataplane.IPTABLES) for c in d.chosen),
    )


def test_a_recognised_pod_gets_the_same_verdict_from_nftables_as_from_iptables() -> None:
    """Proof within 3 nodes and 3 endpoints: no pod traffic is dropped by the pre-DNAT lookup."""
    u = Universe(max_nodes=3, max_endpoints=3)
    solver = _solver(120_000)
    solver.add(*_etp_local_external_address(u), u.client == int(ClientKind.POD), u.has_detector, u.src_in_cluster_cidr)
    solver.add(_nftables_differs_from_iptables(u))
    result = solver.check()
    assert result == z3.unsat, solver.model() if result == z3.sat else result


def test_the_node_itself_is_dropped_where_iptables_short_circuits_it() -> None:
    """The rule is not dead: for host traffic the two dataplanes differ, and nftables drops."""
    u = Universe(max_nodes=3, max_endpoints=3)
    d = decide(SmtOps(), u.situation())
    solver = _solver(120_000)
    solver.add(*_etp_local_external_address(u), u.client == int(ClientKind.NODE), u.client_node == u.handling_node)
    solver.add(_nftables_differs_from_iptables(u), u.dataplane == int(Dataplane.NFTABLES))
    assert solver.check() == z3.sat
    assert z3.is_false(solver.model().eval(d.delivered, model_completion=True))


@pytest.mark.parametrize("case", ROWS, ids=[r["id"] for r in ROWS])
def test_z3_encoding_admits_exactly_the_executable_models_outcomes_on_the_rows(case: dict[str, Any]) -> None:
    for comparison in compare(rows.cluster(case), rows.flow(case)):
        assert comparison.symbolic == comparison.concrete, comparison
