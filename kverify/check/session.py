"""One ``kverify check`` invocation: spec files and manifests in, one :class:`CheckRun` out."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from kverify.check.findings import CheckRun, merge
from kverify.check.run import facts_for, locator, run_builtin_checks
from kverify.check.spec_sniff import is_spec_file
from kverify.errors import InputError, Problem
from kverify.load import load_manifests, to_cluster
from kverify.load.manifests import LoadedManifests
from kverify.load.sources import expand
from kverify.model import Cluster, LoadBalancerProfile, ProxyConfig
from kverify.model.cluster import may_name_values
from kverify.model.enums import TYPE_LOAD_BALANCER
from kverify.model.metallb import NEWEST_METALLB
from kverify.model.policy import PolicyIndex
from kverify.placement.design import Design

if TYPE_CHECKING:
    from kverify.model.workload import NodePool

ProgressFactory = Callable[[str], Callable[[int, int], None]]


def bundled_specs_dir() -> Path:
    """The worked scenarios shipped with kverify: package data, or ``specs/`` of a checkout."""
    packaged = Path(__file__).resolve().parent.parent / "data" / "specs"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent.parent / "specs"  # pragma: no cover - unusual layouts


def bundled_specs() -> list[str]:
    folder = bundled_specs_dir()
    here = Path.cwd()
    if (here / "specs").resolve() == folder.resolve():
        folder = here / "specs"  # a checkout: the repository's specs/ (a link to the package data)
    files = sorted(folder.glob("*.yaml"))
    # Relative paths read better in reports when kverify runs from a checkout.
    return [os.path.relpath(f, here) if f.is_relative_to(here) else str(f) for f in files]


def split_inputs(paths: Sequence[str]) -> tuple[list[str], list[str]]:
    """Spec files and manifest files among ``paths`` (directories expanded, as for manifests)."""
    problems: list[Problem] = []
    files = expand(list(paths), problems)
    if problems:
        raise InputError(problems)
    specs = [f for f in files if is_spec_file(f)]
    return specs, [f for f in files if f not in specs]


def allocated_of(cluster: Cluster) -> tuple[tuple[str, tuple[tuple[str, str], ...]], ...]:
    """Each Service's values known only after apply, for the reports."""
    services = cluster.services
    # A snapshot's Services have nothing allocated, and share a few sets of merely defaulted paths: the
    # distinct sets are gathered in one C-level pass (a set keeps its hash) and each is asked once whether
    # it may name a value; only the Services holding one that may are asked for their values, in order.
    naming = {paths for paths in set(map(_ALLOCATED, services)) if paths and may_name_values(paths)}
    if not naming:
        return ()
    return tuple((s.key, values) for s in services if s.allocated in naming and (values := s.allocated_values()))


_ALLOCATED = attrgetter("allocated")


def load_balancers_of(cluster: Cluster) -> tuple[tuple[str, str, str], ...]:
    """Each LoadBalancer Service's load balancer profile and why it applies, for the reports."""
    return tuple(
        (s.key, cluster.load_balancer_for(s).spelling, cluster.load_balancer_reason(s))
        for s in cluster.services
        if s.type is TYPE_LOAD_BALANCER
    )


def run_check(
    paths: Sequence[str],
    *,
    proxy: ProxyConfig,
    load_balancer: LoadBalancerProfile | None,
    needs_client_ip: Sequence[str] = (),
    node_pools: Sequence[NodePool] = (),
    progress: ProgressFactory | None = None,
    namespace: str = "default",
    metallb_version: tuple[int, int] = NEWEST_METALLB,
    keep: Callable[..., None] | None = None,
) -> CheckRun:
    """Evaluate every spec among ``paths``, and the built-in checks on the other (manifest) files.

    Manifest objects without a namespace land in ``namespace``, and sit behind MetalLB ``metallb_version``
    when a MetalLB profile applies; a spec file names its own namespace and environment. ``keep`` is
    given what was loaded and built, which the caller may hold rather than let it be freed on return
    (the command line, which exits right after: ``kverify.cli._keep_until_exit``)."""
    spec_files, manifest_files = split_inputs(paths)
    problems: list[Problem] = []
    specs = []
    if spec_files:  # here: checking manifests alone need not import the spec language
        from kverify.check.specfile import evaluate, load_spec
    for file in spec_files:
        try:
            specs.append(load_spec(file))
        except InputError as error:
            problems.extend(error.problems)
    loaded = None
    if manifest_files:
        try:
            loaded = load_manifests(manifest_files, namespace=namespace, service_cidrs=proxy.service_cidrs, keep=keep)
        except InputError as error:
            problems.extend(error.problems)
    if problems:
        raise InputError(problems)
    runs: list[CheckRun] = []
    for spec in specs:
        run = evaluate(spec, progress(f"spec {spec.name}") if progress else None)
        runs.append(
            attrs.evolve(
                run,
                skipped=spec.skipped,
                skipped_kinds=spec.skipped_kinds,
                allocated=allocated_of(spec.cluster),
                load_balancers=load_balancers_of(spec.cluster),
            )
        )
    if loaded is not None:
        cluster = attrs.evolve(
            to_cluster(loaded, proxy=proxy, load_balancer=load_balancer), metallb_version=metallb_version
        )
        known = {s.key for s in cluster.services} if needs_client_ip else set()
        for key in needs_client_ip:
            if key not in known:
                problems.append(Problem(f'Not found: "{key}" in the manifests', field="--needs-client-ip"))
        if problems:
            raise InputError(problems)
        needs = {key: "--needs-client-ip names it" for key in needs_client_ip}
        facts = facts_for(cluster, ip_blocks=loaded.ip_blocks, intents=loaded.intents, needs_client_ip=needs)
        if node_pools and cluster.nodes:
            raise InputError(
                Problem("the manifests already have Node objects; describe the nodes once", field="--node-pool")
            )
        design = Design(
            cluster=cluster,
            workloads=loaded.workloads,
            node_pools=tuple(node_pools),
            endpoints_given=loaded.endpoints_given,
            pod_sources=loaded.pod_sources,
        )
        done = run_builtin_checks(
            design,
            facts,
            files=manifest_files,
            locate=locator(loaded.source_lines),
            progress=progress if progress else None,
        )
        if keep is not None:
            keep(loaded, cluster, facts, design)
        warnings = tuple(str(w) for w in loaded.warnings) + _unenforced_policies(loaded, cluster)
        runs.append(
            attrs.evolve(
                done,
                inputs=tuple(manifest_files),
                warnings=warnings,
                skipped=loaded.skipped,
                skipped_kinds=loaded.skipped_kinds,
                allocated=allocated_of(cluster),
                load_balancers=load_balancers_of(cluster),
            )
        )
    return merge(runs)


def _unenforced_policies(loaded: LoadedManifests, cluster: Cluster) -> tuple[str, ...]:
    """One warning when NetworkPolicies may restrict ingress to the pods of Services checked: kverify's
    "delivered" is kube-proxy's answer, which the network plugin may still drop."""
    if not loaded.ingress_policies:
        return ()
    index = PolicyIndex(loaded.ingress_policies)
    # Each policy named once, in the order a Service-by-Service scan finds them: by the first Service it may
    # select, then by its place in the input. A shared list of policies is taken once, whichever Services it fits.
    first_found: dict[int, tuple[int, int, str]] = {}
    lists_taken: set[int] = set()
    services: list[str] = []
    for order, service in enumerate(cluster.services):
        buckets = index.buckets(service.namespace, service.selector)
        if not buckets:
            continue
        services.append(service.key)
        for bucket in buckets:
            if id(bucket) not in lists_taken:
                lists_taken.add(id(bucket))
                for position, policy in bucket:
                    first_found.setdefault(position, (order, position, policy.policy))
    names = [name for _, _, name in sorted(first_found.values())]
    if not services:
        return ()
    return (
        f"NetworkPolicy {_first_three(list(names))} may restrict ingress to the pods of {_first_three(services)}; "
        "kverify does "
        "not model NetworkPolicy, so 'delivered' is kube-proxy's answer and the network plugin may still drop "
        "the connection",
    )


def _first_three(items: list[str]) -> str:
    return ", ".join(items[:3]) + (f" and {len(items) - 3} more" if len(items) > 3 else "")
