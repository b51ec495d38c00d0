"""Running the built-in checks over every Service of a cluster, routing only the candidate flows."""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence

import attrs

from kverify.check.catalogue import BuiltinCheck, Candidate, Facts, candidate_flows, plainly_cluster_ip_only
from kverify.check.client_nodes import ClientNodes
from kverify.check.exhaustive import counterexample, scope, unsupported
from kverify.check.findings import BUILT_IN, CheckResult, CheckRun, Location, merge
from kverify.check.idle import CLUSTER_IP_ONLY, tally, why_nothing_to_check
from kverify.concrete import iter_route
from kverify.concrete.index import index_of
from kverify.concrete.route import load_balancer_may_pick
from kverify.model import Cluster, Flow, Service
from kverify.model.policy import IPBlockRule, ServiceIntent
from kverify.placement.design import Design, at_design_time
from kverify.verdicts import Proved, Refuted, Unknown, Verdict

Progress = Callable[[int, int], None]


def facts_for(
    cluster: Cluster,
    *,
    ip_blocks: Iterable[IPBlockRule] = (),
    intents: Mapping[str, ServiceIntent] | None = None,
    needs_client_ip: Mapping[str, str] | None = None,
) -> Facts:
    """The facts shared by every Service's checks: O(policies + intents) now, O(nodes + endpoints) at most
    as the checks ask (:class:`ClientNodes`)."""
    blocks: dict[str, list[IPBlockRule]] = defaultdict(list)
    for rule in ip_blocks:
        blocks[rule.namespace].append(rule)
    intents = intents or {}
    needs = {
        key: "the Service is annotated kverify.io/needs-client-ip" for key, i in intents.items() if i.needs_client_ip
    }
    needs.update(needs_client_ip or {})
    return Facts(
        cluster=cluster,
        client_nodes=ClientNodes(cluster.nodes, cluster.services),
        ip_blocks=dict(blocks),
        selectors={key: i.selector for key, i in intents.items() if i.selector} if blocks else {},
        needs_client_ip=needs,
    )


def locator(source_lines: Mapping[str, tuple[str, int]]) -> Callable[[Service], Location | None]:
    """Where each Service is defined, from :attr:`LoadedManifests.source_lines`."""

    def locate(service: Service) -> Location | None:
        where = source_lines.get(f"Service {service.key}")
        return Location(file=where[0], line=where[1]) if where else None

    return locate


def _decide(
    check: BuiltinCheck, facts: Facts, candidates: list[Candidate], files: Sequence[str] | None
) -> tuple[Verdict, str]:
    cluster = facts.cluster
    names = index_of(cluster).node_names
    for candidate in candidates:
        if (reason := unsupported(cluster, candidate.flow)) is not None:
            unknown = Unknown(
                claim=check.id, dataplane=cluster.proxy.dataplane, reason=reason, scope=scope(cluster, candidate.flow)
            )
            return unknown, candidate.context
        for outcome in iter_route(cluster, candidate.flow):
            why = check.prop.violation(outcome, names)
            if why is None and candidate.also is not None:
                why = candidate.also(outcome)
            if why is not None and candidate.lb_picks_only and not _lb_may_pick(cluster, candidate.flow):
                break  # the load balancer never sends this flow there: no outcome of it counts
            if why is not None:
                cx = counterexample(
                    cluster, candidate.flow, outcome, f"{check.id} {candidate.context}", files, detail=why
                )
                verdict = Refuted(
                    claim=check.id,
                    dataplane=cluster.proxy.dataplane,
                    scope=scope(cluster, candidate.flow),
                    counterexample=cx,
                )
                return verdict, candidate.context
    return Proved(claim=check.id, dataplane=cluster.proxy.dataplane, scope="these manifests"), ""


def _lb_may_pick(cluster: Cluster, flow: Flow) -> bool:
    """Whether the load balancer may send ``flow`` to its (named) arrival node, by the rule table.

    Asked only once an outcome breaks the claim: the rule (``lb-fail-open``) looks at every node, each
    on its own endpoint classes (linear; it read every endpoint for every node, issue 11).
    """
    return load_balancer_may_pick(cluster, flow)


def run_builtin(
    cluster: Cluster,
    facts: Facts,
    *,
    files: Sequence[str] | None,
    locate: Callable[[Service], Location | None] = lambda _s: None,
    origin: str = BUILT_IN,
    progress: Progress | None = None,
) -> CheckRun:
    """Every built-in check on every (non-headless) Service: findings listed, passes counted."""
    # Like the loader: no cycles are made here, and the cyclic GC would rescan the loaded snapshot.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _run(cluster, facts, files=files, locate=locate, origin=origin, progress=progress)
    finally:
        if gc_was_enabled:
            gc.enable()


def _run(
    cluster: Cluster,
    facts: Facts,
    *,
    files: Sequence[str] | None,
    locate: Callable[[Service], Location | None],
    origin: str,
    progress: Progress | None,
) -> CheckRun:
    results: list[CheckResult] = []
    passed = 0
    idle: list[str] = []
    total = len(cluster.services)
    for i, service in enumerate(cluster.services):
        if progress is not None and i % 256 == 0:
            progress(i, total)
        if plainly_cluster_ip_only(facts, service):
            idle.append(CLUSTER_IP_ONLY)  # most Services of a snapshot: no check is asked
            continue
        applied = False
        for check, candidates in [] if service.headless else candidate_flows(facts, service):
            applied = True
            verdict, context = _decide(check, facts, candidates, files)
            if isinstance(verdict, Proved):
                passed += 1
                continue
            results.append(
                CheckResult(
                    origin=origin,
                    claim=check.id,
                    statement=check.statement,
                    service=service.key,
                    verdict=verdict,
                    service_location=locate(service),
                    context=f"{context}. Why: {check.why}",
                )
            )
        if not applied:
            idle.append(
                why_nothing_to_check(
                    service, load_balancer=cluster.load_balancer, needs_client_ip=facts.needs_client_ip
                )
            )
    if progress is not None:
        progress(total, total)
    return CheckRun(
        results=tuple(results),
        builtin_passed=passed,
        builtin_found=len(results),
        builtin_services=total,
        nothing_to_check=tally(idle),
        services_checked=total,
        inputs=tuple(files or ()),
    )


def run_builtin_checks(
    design: Design,
    facts: Facts,
    *,
    files: Sequence[str] | None,
    locate: Callable[[Service], Location | None] = lambda _s: None,
    origin: str = BUILT_IN,
    progress: Callable[[str], Progress] | None = None,
) -> CheckRun:
    """The built-in checks on every Service: on its EndpointSlices where the manifests give them (a
    snapshot), else over every placement of its workloads (:mod:`kverify.placement.builtin`)."""
    cluster = design.cluster
    # No Service is decided over placements without workloads or node pools, while the manifests have nodes
    # (at_design_time): a snapshot's 16,000 Services need not be asked one by one.
    placements = bool(design.workloads or design.node_pools or not cluster.nodes)
    designed = [s for s in cluster.services if at_design_time(design, s)] if placements else []
    snapshot = cluster
    if designed:
        keep = {s.key for s in designed}
        snapshot = attrs.evolve(cluster, services=[s for s in cluster.services if s.key not in keep])
    runs = [
        run_builtin(
            snapshot,
            facts,
            files=files,
            locate=locate,
            origin=origin,
            progress=progress("built-in checks") if progress else None,
        )
    ]
    if designed:
        from kverify.placement.builtin import run_design_checks  # loads Z3

        runs.append(
            run_design_checks(
                design,
                needs_client_ip=facts.needs_client_ip,
                locate=locate,
                files=tuple(files or ()),
                origin=origin,
                progress=progress("design-time checks") if progress else None,
            )
        )
    return merge(runs)
