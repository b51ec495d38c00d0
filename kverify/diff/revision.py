"""One side of a diff, read: its manifests as a :class:`~kverify.placement.design.Design`, and the
results of its spec files' claims."""

from __future__ import annotations

import os
from collections.abc import Sequence

import attrs

from kverify.check.findings import CheckResult
from kverify.errors import InputError, Problem
from kverify.model import LoadBalancerProfile, ProxyConfig, Service
from kverify.model.metallb import NEWEST_METALLB
from kverify.model.workload import NodePool, Workload
from kverify.placement.design import Design, at_design_time, backends_of


@attrs.frozen(kw_only=True)
class Environment:
    """What the command line says about the cluster, the same for both sides."""

    proxy: ProxyConfig = attrs.field(factory=ProxyConfig)
    #: None: each Service's well-known annotations choose, else health-checked (as ``kverify check``).
    load_balancer: LoadBalancerProfile | None = None
    node_pools: tuple[NodePool, ...] = ()
    namespace: str = "default"
    #: ``--metallb-version``: the release behind the metallb-l2 and metallb-bgp profiles (rule lb-metallb-announce).
    metallb_version: tuple[int, int] = NEWEST_METALLB


@attrs.frozen(kw_only=True)
class Revision:
    """What one side holds. ``root`` is where its paths are shown relative to (a git export's folder)."""

    label: str
    design: Design | None = None
    #: Service key -> "file:line" of its definition, relative to ``root``.
    service_lines: dict[str, str] = attrs.field(factory=dict, hash=False)
    claims: tuple[CheckResult, ...] = ()
    files: tuple[str, ...] = ()
    #: Objects of the manifests (and the specs' manifests) kverify builds nothing from, and their kinds;
    #: problems that do not stop the analysis.
    skipped: tuple[str, ...] = ()
    skipped_kinds: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    def service(self, key: str) -> Service | None:
        return self.design.cluster.service(key) if self.design is not None else None

    @property
    def service_keys(self) -> tuple[str, ...]:
        return tuple(s.key for s in self.design.cluster.services) if self.design is not None else ()


def read_revision(label: str, paths: Sequence[str], env: Environment, *, root: str | None = None) -> Revision:
    """Load ``paths`` (spec files, manifests, directories of them) and evaluate the specs' claims.

    Problems name files relative to ``root`` (a git export's folder) with the revision: ``REV:path``."""
    try:
        return _read(label, paths, env, root)
    except InputError as error:
        if root is None:
            raise
        raise InputError(
            [attrs.evolve(p, file=f"{label}:{_shown(p.file, root)}") if p.file else p for p in error.problems]
        ) from None


def _read(label: str, paths: Sequence[str], env: Environment, root: str | None) -> Revision:
    from kverify.check.session import split_inputs
    from kverify.check.specfile import evaluate, load_spec
    from kverify.load import load_manifests, to_cluster

    spec_files, manifest_files = split_inputs(paths)
    problems: list[Problem] = []
    specs = []
    for file in spec_files:
        try:
            specs.append(load_spec(file))
        except InputError as error:
            problems.extend(error.problems)
    loaded = None
    if manifest_files:
        try:
            loaded = load_manifests(manifest_files, namespace=env.namespace, service_cidrs=env.proxy.service_cidrs)
        except InputError as error:
            problems.extend(error.problems)
    if problems:
        raise InputError(problems)
    claims = tuple(r for spec in specs for r in evaluate(spec).results)
    design = None
    lines: dict[str, str] = {}
    if loaded is not None:
        cluster = attrs.evolve(
            to_cluster(loaded, proxy=env.proxy, load_balancer=env.load_balancer), metallb_version=env.metallb_version
        )
        if env.node_pools and cluster.nodes:
            message = f"{label}: the manifests already have Node objects; describe the nodes once"
            raise InputError(Problem(message, field="--node-pool"))
        workloads: tuple[Workload, ...] = tuple(getattr(loaded, "workloads", ()))
        design = Design(
            cluster=cluster,
            workloads=workloads,
            node_pools=env.node_pools,
            endpoints_given=getattr(loaded, "endpoints_given", frozenset()),
            pod_sources=getattr(loaded, "pod_sources", ()),
        )
        for service in cluster.services:
            where = loaded.source_lines.get(f"Service {service.key}")
            if where is not None:
                lines[service.key] = f"{_shown(where[0], root)}:{where[1]}"
    files = tuple(_shown(f, root) for f in (*spec_files, *manifest_files))
    pairs = [p for spec in specs for p in zip(spec.skipped, spec.skipped_kinds, strict=True)]
    pairs += zip(loaded.skipped, loaded.skipped_kinds, strict=True) if loaded else []
    unique = list(dict.fromkeys(pairs))  # a spec's manifests are often also among the inputs: list them once
    skipped, kinds = tuple(s for s, _ in unique), tuple(k for _, k in unique)
    warnings = tuple(f"{label}: {w}" for w in (loaded.warnings if loaded else ()))
    return Revision(
        label=label,
        design=design,
        service_lines=lines,
        claims=claims,
        files=files,
        skipped=skipped,
        skipped_kinds=kinds,
        warnings=warnings,
    )


def _shown(path: str, root: str | None) -> str:
    if root is None:
        return path
    try:
        return os.path.relpath(path, root)
    except ValueError:  # another drive (Windows)
        return path


def shared_inputs(design: Design) -> tuple[object, ...]:
    """What the outcomes of every Service's traffic depend on alike: the nodes (or node pools), the proxy
    and the MetalLB release. Compared once per pair of revisions: comparing the nodes again for each of
    thousands of Services was Services x nodes."""
    cluster = design.cluster
    return (cluster.nodes, cluster.proxy, cluster.metallb_version, design.node_pools)


def service_inputs(design: Design, service: Service) -> tuple[object, ...]:
    """What else the outcomes of ``service``'s traffic depend on: equal on both sides, with equal
    :func:`shared_inputs`, equal outcomes. The Service itself, its load balancer and, at design time,
    the workloads it selects and the ones their anti-affinity and spread terms count."""
    from kverify.placement.solve import workloads_to_place

    base: tuple[object, ...] = (service, design.cluster.load_balancer_for(service))
    if not at_design_time(design, service):
        return (*base, False)
    placed = tuple(workloads_to_place(design, backends_of(design, service, port)) for port in service.ports)
    return (*base, True, placed)
