"""The built-in checks at design time: each Service and its workloads, over every placement.

The same checks as on a snapshot (``kverify.check.catalogue``: same ids, statements and reasons),
asked of the solver instead of enumerated: a Service with eTP Local behind a load balancer without
health checks is a finding as soon as *some* cluster can have a node without a replica, which the
placement solver shows with the smallest such placement.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence

from kverify.check.catalogue import PROBING, lb_hides_client_ip
from kverify.check.catalogue import check as catalogue_check
from kverify.check.findings import BUILT_IN, CheckResult, CheckRun, Location
from kverify.check.idle import tally, why_nothing_to_check
from kverify.concrete.lb_exclusion import excluded_nodes
from kverify.model import ClientKind, Destination, Flow, LoadBalancerProfile, Service, ServiceType
from kverify.model.workload import EXCLUDE_FROM_LB_LABEL
from kverify.placement.design import Design, at_design_time, backends_of, selected_workloads, with_pool_nodes
from kverify.placement.solve import decide_over_placements, schedulable
from kverify.verdicts import Proved, Refuted, Unknown, Verdict

Progress = Callable[[int, int], None]
#: The result for a workload some replica of which must stay Pending.
SCHEDULABLE = "workload-schedulable"


def _external_destination(service: Service) -> Destination | None:
    if service.type is ServiceType.LOAD_BALANCER and service.load_balancer_ingress:
        return Destination.LOAD_BALANCER
    if any(p.node_port for p in service.ports):
        return Destination.NODE_PORT
    if service.external_ips:
        return Destination.EXTERNAL_IP
    return None


def questions(
    design: Design, service: Service, needs_client_ip: Mapping[str, str]
) -> Iterator[tuple[str, Flow, str, str]]:
    """(check id, flow, property, context) for each built-in check that applies to ``service``."""
    key, local = service.key, service.external_traffic_policy.spelling == "Local"
    lb = design.cluster.load_balancer_for(service)
    no_probe = lb is LoadBalancerProfile.NO_HEALTH_CHECK
    if service.type is ServiceType.LOAD_BALANCER and local and no_probe and service.load_balancer_ingress:
        flow = Flow(service=key, client=ClientKind.EXTERNAL, destination=Destination.LOAD_BALANCER)
        yield "etp-local-lb-without-health-checks", flow, "delivered", "a cluster may have a node without a replica"
    probed = service.type is ServiceType.LOAD_BALANCER and local and lb in PROBING and service.load_balancer_ingress
    # Every replica is Ready at design time, so a node with one passes the probe; only a node the LB leaves out
    # (rule lb-exclude-label) fails it with a replica: without the label anywhere there is nothing to ask.
    if probed and excluded_nodes(with_pool_nodes(design), lb):
        flow = Flow(service=key, client=ClientKind.EXTERNAL, destination=Destination.LOAD_BALANCER)
        context = "every replica may run on nodes the load balancer leaves out"
        yield "etp-local-lb-without-healthy-target", flow, "delivered", context
    if service.type is ServiceType.NODE_PORT and local:
        flow = Flow(service=key, client=ClientKind.EXTERNAL, destination=Destination.NODE_PORT)
        yield "etp-local-node-port", flow, "delivered", "a cluster may have a node without a replica"
    if lb_hides_client_ip(design.cluster, service) and service.load_balancer_ingress:
        flow = Flow(service=key, client=ClientKind.EXTERNAL, destination=Destination.LOAD_BALANCER)
        yield "etp-local-behind-rewriting-lb", flow, "client-ip-preserved", f"the {lb.spelling} rewrites the source"
    destination = _external_destination(service)
    if not local and destination is not None and key in needs_client_ip:
        flow = Flow(service=key, client=ClientKind.EXTERNAL, destination=destination)
        yield "etp-cluster-hides-client-ip", flow, "client-ip-preserved", needs_client_ip[key]
    if service.internal_traffic_policy.spelling == "Local":
        flow = Flow(service=key, client=ClientKind.POD, destination=Destination.CLUSTER_IP)
        yield "itp-local-clients-without-endpoint", flow, "delivered", "pods may run on a node without a replica"
    if service.selector and not any(backends_of(design, service, p) for p in service.ports):
        flow = Flow(service=key, client=ClientKind.POD, destination=Destination.CLUSTER_IP)
        yield "no-usable-endpoints", flow, "delivered", _why_no_backend(design, service)


def _why_no_backend(design: Design, service: Service) -> str:
    """Why no workload serves the Service: none is selected, or the selected ones name no port the
    Service's named targetPorts ask for (``pkg/controller/endpointslice/utils.go`` ``getEndpointPorts``:
    a pod whose ``findPort`` fails gets no entry for that Service port)."""
    selected = selected_workloads(design, service)
    named = sorted({p.target_port for p in service.ports if isinstance(p.target_port, str)})
    if not selected or not named:
        return "no workload in the manifests serves a port of the Service"
    shown = ", ".join(f"{w.kind.spelling} {w.namespace}/{w.name}" for w in selected[:3])
    shown += ", ..." if len(selected) > 3 else ""
    asked = ", ".join(f'"{name}"' for name in named)
    return (
        f"the selector matches {shown}, but no container of theirs has a port named as the Service's targetPort "
        f"({asked}, same protocol), so the EndpointSlice controller gives the Service no endpoint (FindPort)"
    )


def _finding_context(design: Design, service: Service, verdict: Verdict, context: str, why: str) -> str:
    """Why the check was asked and why it matters; when the load balancer has no target at all (every node
    labelled out of it, rule lb-exclude-label), that is what the counterexample shows, not the check's own
    reason, and it holds wherever the pods run."""
    if isinstance(verdict, Refuted) and verdict.counterexample.outcome.rules == ("lb-exclude-label",):
        lb = design.cluster.load_balancer_for(service).spelling
        return (
            f"at design time: no node is a target of the load balancer ({lb}): every node is labelled "
            f"{EXCLUDE_FROM_LB_LABEL}, which it reads (rule lb-exclude-label), so every packet to its address "
            "is lost, wherever the pods run. Fix: take the label off the nodes that should receive traffic, "
            "or add nodes without it"
        )
    return f"at design time: {context}. Why: {why}"


def run_design_checks(
    design: Design,
    *,
    needs_client_ip: Mapping[str, str],
    locate: Callable[[Service], Location | None],
    files: Sequence[str],
    origin: str = BUILT_IN,
    progress: Progress | None = None,
) -> CheckRun:
    """The built-in checks on every Service decided at design time, and unschedulable workloads."""
    services = [s for s in design.cluster.services if at_design_time(design, s)]
    results: list[CheckResult] = []
    passed = 0
    idle: list[str] = []
    pending: dict[str, str] = {}
    for w in design.workloads:
        reason = schedulable(design, (w,))
        if reason is not None:
            pending[w.key] = reason
    for i, service in enumerate(services):
        if progress is not None:
            progress(i, len(services))
        blocked = [pending[w.key] for w in selected_workloads(design, service) if w.key in pending]
        applied = False
        for check_id, flow, prop, context in questions(design, service, needs_client_ip):
            applied = True
            check = catalogue_check(check_id)
            verdict: Verdict
            if blocked:
                verdict = Unknown(claim=check_id, dataplane=design.cluster.proxy.dataplane, reason=blocked[0])
            else:
                verdict = decide_over_placements(design, flow, prop, claim=check_id).verdict
            if isinstance(verdict, Proved):
                passed += 1
                continue
            results.append(
                CheckResult(
                    origin=origin,
                    claim=check_id,
                    statement=check.statement,
                    service=service.key,
                    verdict=verdict,
                    service_location=locate(service),
                    context=_finding_context(design, service, verdict, context, check.why),
                )
            )
        if not applied:
            idle.append(
                why_nothing_to_check(
                    service,
                    load_balancer=design.cluster.load_balancer_for(service),
                    needs_client_ip=needs_client_ip,
                    has_workload=bool(selected_workloads(design, service)),
                )
            )
    if progress is not None:
        progress(len(services), len(services))
    for key, reason in pending.items():  # a design flaw of its own, whether or not a Service needs it
        results.append(
            CheckResult(
                origin=origin,
                claim=SCHEDULABLE,
                statement="Every replica of the workload can be scheduled on the nodes described.",
                service=key,
                verdict=Unknown(claim=SCHEDULABLE, dataplane=design.cluster.proxy.dataplane, reason=reason),
                context="at design time: the claims about Services it backs cannot be decided either",
            )
        )
    return CheckRun(
        results=tuple(results),
        builtin_passed=passed,
        builtin_found=len(results),
        builtin_services=len(services),
        nothing_to_check=tally(idle),
        services_checked=len(services),
        inputs=tuple(files),
    )
