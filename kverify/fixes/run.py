"""Fixes for what one ``kverify check`` run found: refuted spec claims and built-in findings."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import attrs

from kverify.check.catalogue import CHECKS
from kverify.check.findings import BUILT_IN, HOLDS, CheckResult, CheckRun, Location
from kverify.check.specfile.address import AddressSpecClaim
from kverify.check.specfile.model import Spec
from kverify.fixes.edits import SourceTexts
from kverify.fixes.goals import goal_for_finding
from kverify.fixes.search import ClaimFixes, fixes_for, fixes_for_goal
from kverify.model import LoadBalancerProfile, ProxyConfig
from kverify.model.metallb import NEWEST_METALLB
from kverify.model.workload import NodePool

_CHECK_IDS = frozenset(c.id for c in CHECKS)


def manifest_subject(
    files: Sequence[str],
    *,
    proxy: ProxyConfig,
    load_balancer: LoadBalancerProfile | None,
    node_pools: Sequence[NodePool] = (),
    namespace: str = "default",
    metallb_version: tuple[int, int] = NEWEST_METALLB,
) -> Spec:
    """Manifests checked without a spec, seen as a spec with no claims: what fixes change and patch.

    Its ``file`` is empty: the environment (dataplane, load balancer) is the command line's, so a fix
    that changes it has no patch, only the flag to check with."""
    from kverify.load import load_manifests, to_cluster

    loaded = load_manifests(list(files), namespace=namespace, service_cidrs=proxy.service_cidrs)
    cluster = attrs.evolve(
        to_cluster(loaded, proxy=proxy, load_balancer=load_balancer), metallb_version=metallb_version
    )
    objects = {key: Location(file=file, line=line) for key, (file, line) in loaded.source_lines.items()}
    lines = {key.split(" ", 1)[1]: where for key, where in objects.items() if key.startswith("Service ")}
    return Spec(
        name=BUILT_IN,
        file="",
        cluster=cluster,
        manifests=tuple(files),
        service_lines=lines,
        object_lines=objects,
        ip_blocks=tuple(loaded.ip_blocks),
        intents=dict(loaded.intents),
        workloads=loaded.workloads,
        node_pools=tuple(node_pools),
        endpoints_given=loaded.endpoints_given,
        pod_sources=loaded.pod_sources,
        namespace=namespace,
    )


def _found_before(run: CheckRun, origin: str, service: str) -> frozenset[str]:
    return frozenset(
        r.claim for r in run.failed if r.origin == origin and r.service == service and r.claim in _CHECK_IDS
    )


def fixes_in_run(
    paths: Sequence[str],
    run: CheckRun,
    *,
    proxy: ProxyConfig,
    load_balancer: LoadBalancerProfile | None = None,
    node_pools: Sequence[NodePool] = (),
    namespace: str = "default",
    needs_client_ip: Sequence[str] = (),
    metallb_version: tuple[int, int] = NEWEST_METALLB,
    progress: Callable[[int, int], None] | None = None,
) -> list[ClaimFixes]:
    """For each spec claim of ``run`` that should hold and is refuted, and each built-in finding with a
    counterexample, the smallest fixes. The options are the ones the run was checked with.
    ``progress`` is told ``(done, total)`` after each refuted result: every candidate fix is decided
    again over every node, which takes minutes on a snapshot of thousands of nodes and findings."""
    from kverify.check.session import split_inputs
    from kverify.check.specfile import load_spec
    from kverify.verdicts import Refuted

    failing = [r for r in run.failed if r.expected == HOLDS and isinstance(r.verdict, Refuted)]
    if not failing:
        return []
    spec_files, manifest_files = split_inputs(paths)
    specs = {spec.name: spec for spec in (load_spec(f) for f in spec_files)}
    if manifest_files and any(r.origin == BUILT_IN for r in failing):
        specs[BUILT_IN] = manifest_subject(
            manifest_files,
            proxy=proxy,
            load_balancer=load_balancer,
            node_pools=node_pools,
            namespace=namespace,
            metallb_version=metallb_version,
        )
    out: list[ClaimFixes] = []
    sources = SourceTexts()  # each file read once for all the patches of the run
    for done, result in enumerate(failing, 1):
        if progress is not None:
            progress(done - 1, len(failing))
        spec = specs.get(result.origin)
        if spec is None:
            continue
        claim = next((c for c in spec.claims if c.id == result.claim), None)
        if isinstance(claim, AddressSpecClaim):
            continue  # the address rule reads no Service: no manifest change makes such a claim hold
        if claim is not None:
            out.append(fixes_for(spec, claim, result.verdict, sources))
        elif result.claim in _CHECK_IDS:
            found = _finding_fixes(spec, result, run, needs_client_ip, sources)
            if found is not None:
                out.append(found)
    if progress is not None:
        progress(len(failing), len(failing))
    return out


def _finding_fixes(
    spec: Spec, result: CheckResult, run: CheckRun, cli_needs: Sequence[str], sources: SourceTexts
) -> ClaimFixes | None:
    if spec.name == BUILT_IN:
        needs = {key: "--needs-client-ip names it" for key in cli_needs}
    else:
        needs = {key: f"spec {spec.name} lists it in builtinChecks.needsClientIP" for key in spec.needs_client_ip}
    needs.update({key: "annotated kverify.io/needs-client-ip" for key, i in spec.intents.items() if i.needs_client_ip})
    goal = goal_for_finding(result, _found_before(run, result.origin, result.service), needs)
    return None if goal is None else fixes_for_goal(spec, goal, result.verdict, sources)
