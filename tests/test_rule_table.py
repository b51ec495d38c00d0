"""The rule table: complete, cited, interpreted by both engines, and free of Python branching."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from kverify.concrete import route
from kverify.prove.claims import ALL_CLAIMS
from kverify.semantics import load_rules
from kverify.semantics.docs import render
from kverify.semantics.registry import RULES, recording
from kverify.symbolic import spread
from kverify.symbolic.prove import encoding, kinds_encoding
from kverify.symbolic.spread import find_uneven_spread
from kverify.symbolic.universe import ABSTRACTS
from tests.kubernetes_cases import rows

load_rules()
ROOT = Path(__file__).resolve().parent.parent
RULE_MODULES = sorted((ROOT / "kverify" / "semantics").glob("*.py"))
INFRASTRUCTURE = {"ops.py", "registry.py", "vocabulary.py", "docs.py", "__init__.py"}


def test_every_rule_is_cited_with_a_version() -> None:
    for rule in RULES.values():
        assert rule.title and rule.source and rule.since, rule.id
        assert "kube-proxy-semantics.md" not in rule.source, f"{rule.id} cites the notes, not the source"


def test_bounded_encoding_evaluates_every_decision_rule() -> None:
    encoding.cache_clear()
    spread._encoding.cache_clear()
    with recording() as seen:
        encoding(2, 2)
        find_uneven_spread(ALL_CLAIMS[-1], 0, max_nodes=2, max_endpoints=2)  # type: ignore[arg-type]
    missing = {r.id for r in RULES.values() if r.kind == "decide" and r.flow == "service"} - seen
    assert not missing, f"rules the bounded Z3 encoding never evaluates: {sorted(missing)}"


def test_any_size_encoding_evaluates_every_decision_rule() -> None:
    kinds_encoding.cache_clear()
    with recording() as seen:
        kinds_encoding()
    missing = {r.id for r in RULES.values() if r.kind == "decide" and r.flow == "service"} - seen
    assert not missing, f"rules the endpoint-kind encoding never evaluates: {sorted(missing)}"


def test_address_encoding_evaluates_every_address_rule() -> None:
    """A packet to an address of no Service is its own solver query (kverify.symbolic.address)."""
    from kverify.symbolic.address import AddressUniverse

    with recording() as seen:
        AddressUniverse().dropped()
    missing = {r.id for r in RULES.values() if r.kind == "decide" and r.flow == "address"} - seen
    assert not missing, f"rules the address encoding never evaluates: {sorted(missing)}"


def test_executable_model_evaluates_every_rule() -> None:
    with recording() as seen:
        for case in rows.load_rows("flow") + rows.load_rows("health-check"):
            route(rows.cluster(case), rows.flow(case) if case["kind"] == "flow" else _health_flow(case))
        _lb_flows()
        _address_flow()
    missing = set(RULES) - seen
    assert not missing, f"rules the executable model never evaluates: {sorted(missing)}"


def test_encoding_abstracts_every_classification_rule() -> None:
    classify = {r.id for r in RULES.values() if r.kind == "classify"}
    assert classify == set(ABSTRACTS)


@pytest.mark.parametrize("path", [p for p in RULE_MODULES if p.name not in INFRASTRUCTURE], ids=lambda p: p.name)
def test_rules_do_not_branch_in_python(path: Path) -> None:
    """`if x == y` on Z3 terms tests syntax, not values: rules must combine values with Ops only."""
    tree = ast.parse(path.read_text())
    forbidden = (ast.If, ast.IfExp, ast.BoolOp, ast.While, ast.Compare)
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            for inner in ast.walk(node):
                if isinstance(inner, forbidden) or (isinstance(inner, ast.UnaryOp) and isinstance(inner.op, ast.Not)):
                    pytest.fail(f"{path.name}:{inner.lineno}: Python branching in rule function {node.name}")
                if isinstance(inner, ast.comprehension) and inner.ifs:
                    pytest.fail(f"{path.name}:{inner.lineno}: filtered comprehension in rule function {node.name}")


def test_semantics_doc_is_generated_from_the_table() -> None:
    assert (ROOT / "docs" / "semantics.md").read_text() == render(), (
        "run: python -m kverify.semantics.docs > docs/semantics.md"
    )


def _health_flow(case):  # type: ignore[no-untyped-def]
    return rows.Flow(
        service=f"{case['service']['namespace']}/{case['service']['name']}",
        client=rows.ClientKind.EXTERNAL,
        destination=rows.Destination.HEALTH_CHECK_NODE_PORT,
        node=case["expect"]["node"],
    )


def _lb_flows() -> None:
    """Flows through every load balancer profile and the dataplanes the Kubernetes rows do not cover."""
    import attrs

    from kverify.model import ClientKind, Dataplane, Destination, Flow, LoadBalancerProfile

    case = next(r for r in rows.load_rows("flow") if r["service"]["type"] == "LoadBalancer" and r["endpoints"])
    base = rows.cluster(case)
    service = base.services[0]
    from kverify.concrete.unknown_lb import unmodelled_reason

    for profile in LoadBalancerProfile:
        for dataplane in Dataplane:
            if unmodelled_reason(profile, dataplane) is not None:
                continue  # Unknown by design (tests/test_lb_profiles.py)
            for etp in ("Cluster", "Local"):
                svc = attrs.evolve(service, external_traffic_policy=rows.TrafficPolicy.parse(etp))
                cluster = attrs.evolve(
                    base, services=[svc], load_balancer=profile, proxy=attrs.evolve(base.proxy, dataplane=dataplane)
                )
                for client in ClientKind:
                    for destination in (Destination.LOAD_BALANCER, Destination.CLUSTER_IP, Destination.NODE_PORT):
                        flow = Flow(
                            service=svc.key,
                            client=client,
                            destination=destination,
                            node="test-node" if client is not ClientKind.EXTERNAL else None,
                        )
                        route(cluster, flow)
    hairpin = attrs.evolve(base, proxy=attrs.evolve(base.proxy, dataplane=Dataplane.IPTABLES))
    route(
        hairpin,
        Flow(
            service=service.key,
            client=ClientKind.POD,
            destination=Destination.CLUSTER_IP,
            client_ip=service.endpoints[0].ip,
            node=service.endpoints[0].node_name or "test-node",
        ),
    )


def _address_flow() -> None:
    """A packet to an address of no Service (rule nftables-unallocated-service-ip)."""
    import attrs

    from kverify.concrete import route_address
    from kverify.model import AddressFlow, ClientKind, Dataplane

    base = rows.cluster(rows.load_rows("flow")[0])
    proxy = attrs.evolve(base.proxy, dataplane=Dataplane.NFTABLES, service_cidrs=("198.18.0.0/15",))
    route_address(attrs.evolve(base, proxy=proxy), AddressFlow(dst_ip="198.18.0.9", client=ClientKind.EXTERNAL))
    # A pod reaching its own Service through an AWS NLB known by hostname, on a one-node cluster (lb-aws-nlb-hairpin).
    from kverify.model import Destination, Flow, LoadBalancerIngress, LoadBalancerProfile, ServiceType

    service = next(s for s in base.services if s.ports)
    nlb = attrs.evolve(
        service,
        type=ServiceType.LOAD_BALANCER,
        load_balancer_ingress=(LoadBalancerIngress(hostname="nlb.example"),),
        health_check_node_port=None,
        external_traffic_policy=rows.TrafficPolicy.CLUSTER,
    )
    one = attrs.evolve(base, nodes=base.nodes[:1], services=[nlb], load_balancer=LoadBalancerProfile.AWS_NLB_INSTANCE)
    flow = Flow(service=nlb.key, client=ClientKind.POD, destination=Destination.LOAD_BALANCER, node=base.nodes[0].name)
    route(one, flow)
