"""Spec files (YAML) -> :class:`~kverify.check.specfile.model.Spec`; each problem reads
``FILE:LINE: Spec NAME: field.path: message``.

The format is documented in ``docs/spec-format.md`` and published as a JSON Schema
(``kverify/data/spec.schema.json``); this loader enforces the same rules and says where they break.
"""

from __future__ import annotations

import math
import os
from typing import Any

import attrs

from kverify.check.exhaustive import PARAMETRIC, PROPERTIES
from kverify.check.findings import HOLDS, REFUTED, Location
from kverify.check.spec_sniff import is_spec_file as is_spec_file  # re-exported: the package's name for it
from kverify.check.specfile.address import AddressSpecClaim, address_claim_from
from kverify.check.specfile.during import during_from
from kverify.check.specfile.model import API_VERSION, KIND, ExpectedFinding, Spec, SpecClaim
from kverify.check.specfile.pools import pools_from
from kverify.check.specfile.topology import topology_from
from kverify.errors import InputError, Problem, names, quote
from kverify.load import load_manifests, to_cluster
from kverify.load.fields import Ctx, Path, invalid, unsupported
from kverify.load.service_cidrs import checked_cidrs
from kverify.load.sources import read_file
from kverify.model import (
    ClientKind,
    Cluster,
    Cni,
    Dataplane,
    Destination,
    LoadBalancerProfile,
    ProxyConfig,
)
from kverify.model.cilium import NEWEST_CILIUM, CiliumSettings, parse_cilium_release, parse_helm_sets
from kverify.model.cluster import cni_problem
from kverify.model.metallb import parse_metallb_version
from kverify.model.versions import NEWEST, parse_version, resolve_gates
from kverify.model.workload import NodePool

_TOP = (
    "apiVersion",
    "kind",
    "metadata",
    "namespace",
    "manifests",
    "topology",
    "nodes",
    "environment",
    "builtinChecks",
    "claims",
)
_METADATA = ("name", "description")
_ENVIRONMENT = (
    "dataplane",
    "loadBalancer",
    "proxyProtocol",
    "clusterCIDR",
    "localTrafficDetector",
    "masqueradeAll",
    "nodePortAddresses",
    "kubernetesVersion",
    "featureGates",
    "cni",
    "ciliumVersion",
    "ciliumHelm",
    "metallbVersion",
    "serviceCIDR",
)
_BUILTIN = ("enabled", "needsClientIP", "expectFindings")
_CLAIM = (
    "id",
    "service",
    "from",
    "via",
    "node",
    "sourceIP",
    "port",
    "property",
    "hops",
    "ratio",
    "expect",
    "allowUnknown",
    "why",
    "during",
    "to",
)
CLIENTS = {"external": ClientKind.EXTERNAL, "pod": ClientKind.POD, "host": ClientKind.NODE}
_VIA = {
    d.spelling: d
    for d in (Destination.LOAD_BALANCER, Destination.NODE_PORT, Destination.CLUSTER_IP, Destination.EXTERNAL_IP)
}


def known_fields(ctx: Ctx, m: dict[str, Any], path: Path, fields: tuple[str, ...]) -> None:
    """Unknown fields are errors (a typo would otherwise silently weaken a claim)."""
    for key in m:
        if key not in fields:
            ctx.error((*path, str(key)), f"unknown field {quote(str(key))}: supported fields: {', '.join(fields)}")


def load_spec(file: str) -> Spec:
    """Read one spec file; raise :class:`InputError` with every problem found."""
    problems: list[Problem] = []
    docs = [d for d in read_file(file, problems) if d.data is not None]
    if problems:
        raise InputError(problems)
    if len(docs) != 1:
        raise InputError(Problem(f"a spec file holds exactly one document, found {len(docs)}", file, 1))
    doc = docs[0]
    data = doc.data
    if type(data) is not dict:
        raise InputError(Problem("a spec is a mapping", file, doc.line))
    meta = data.get("metadata")
    given = meta.get("name") if type(meta) is dict else None
    name: str = given if type(given) is str and given else os.path.splitext(os.path.basename(file))[0]
    warnings: list[Problem] = []
    ctx = Ctx(file, doc.locate, f"Spec {name}", problems, warnings)
    known_fields(ctx, data, (), _TOP)
    if data.get("apiVersion") != API_VERSION:
        ctx.error(("apiVersion",), unsupported(data.get("apiVersion"), (API_VERSION,)))
    if data.get("kind") != KIND:
        ctx.error(("kind",), unsupported(data.get("kind"), (KIND,)))
    meta_map = ctx.mapping(data, "metadata", ())
    known_fields(ctx, meta_map, ("metadata",), _METADATA)
    ctx.string(meta_map, "name", ("metadata",), required=True)
    description = ctx.string(meta_map, "description", ("metadata",)) or ""
    proxy, lb = _environment(ctx, ctx.mapping(data, "environment", ()))
    namespace = ctx.string(data, "namespace", ()) or "default"
    if "namespace" in data and "manifests" not in data:
        ctx.error(("namespace",), "Forbidden: only with `manifests` (a topology names its Services' namespaces)")
    cluster, files, lines, blocks, intents, (workloads, endpoints_given, pod_sources, object_lines), skipped = _cluster(
        ctx, data, file, proxy, lb, namespace
    )
    proxy_protocol = ctx.boolean(ctx.mapping(data, "environment", ()), "proxyProtocol", ("environment",))
    if proxy_protocol is not None:
        cluster = attrs.evolve(cluster, proxy_protocol=proxy_protocol)
    metallb = _metallb(ctx, ctx.mapping(data, "environment", ()))
    if metallb is not None:
        cluster = attrs.evolve(cluster, metallb_version=metallb)
    pools = pools_from(ctx, data["nodes"], ("nodes",)) if "nodes" in data else ()
    if pools and cluster.nodes:
        ctx.error(("nodes",), "Forbidden: the manifests already have Node objects; describe the nodes once")
    if problems:
        raise InputError(problems)
    claims = _claims(ctx, data, cluster, pools)
    builtin = data.get("builtinChecks")
    enabled, needs, expected = _builtin(ctx, ctx.mapping(data, "builtinChecks", ()), cluster)
    if problems:
        raise InputError(problems)
    return Spec(
        name=name,
        file=file,
        description=description,
        cluster=cluster,
        manifests=files,
        service_lines=lines,
        object_lines=object_lines,
        claims=claims,
        builtin_checks=enabled and builtin is not None,
        needs_client_ip=needs,
        expected_findings=expected,
        ip_blocks=blocks,
        intents=intents,
        workloads=workloads,
        endpoints_given=endpoints_given,
        pod_sources=pod_sources,
        node_pools=pools,
        skipped=skipped[0],
        skipped_kinds=skipped[1],
        namespace=namespace,
    )


def _environment(ctx: Ctx, env: dict[str, Any]) -> tuple[ProxyConfig, LoadBalancerProfile]:
    path: Path = ("environment",)
    known_fields(ctx, env, path, _ENVIRONMENT)
    dataplane = ctx.enum(env, "dataplane", path, Dataplane, Dataplane.IPTABLES)
    lb = ctx.enum(env, "loadBalancer", path, LoadBalancerProfile, LoadBalancerProfile.HEALTH_CHECKED)
    cidrs = ["10.0.0.0/8"] if env.get("clusterCIDR") is None else ctx.strings(env, "clusterCIDR", path)
    cidrs = [c for i, text in enumerate(cidrs) if (c := ctx.cidr(text, (*path, "clusterCIDR", i))) is not None]
    addresses = [
        c
        for i, text in enumerate(ctx.strings(env, "nodePortAddresses", path))
        if (c := ctx.cidr(text, (*path, "nodePortAddresses", i))) is not None
    ]
    detector = ctx.boolean(env, "localTrafficDetector", path)
    masquerade = ctx.boolean(env, "masqueradeAll", path)
    minor, gates = _version(ctx, env, path)
    cni = ctx.enum(env, "cni", path, Cni, Cni.GENERIC)
    if (problem := cni_problem(dataplane, cni)) is not None:
        ctx.error((*path, "cni"), problem)
        cni = Cni.GENERIC
    cilium, mode = _cilium(ctx, env, path, dataplane)
    service_cidrs = _service_cidrs(ctx, env, path)
    proxy = ProxyConfig(
        dataplane=Dataplane.parse(mode) if mode else dataplane,
        cilium=cilium,
        cluster_cidrs=cidrs,
        local_traffic_detector=detector is not False,
        masquerade_all=bool(masquerade),
        node_port_addresses=addresses,
        kubernetes_version=minor,
        feature_gates=gates,
        cni=cni,
        service_cidrs=service_cidrs,
    )
    return proxy, lb


def _service_cidrs(ctx: Ctx, env: dict[str, Any], path: Path) -> tuple[str, ...]:
    """``serviceCIDR: 10.96.0.0/12`` (or ``"10.96.0.0/12,fd00:10:96::/112"`` as kube-apiserver's
    --service-cluster-ip-range takes it, or a list): the ServiceCIDR objects' ranges, checked as the API
    server checks one object's ``spec.cidrs`` (kverify.load.service_cidrs)."""
    value = env.get("serviceCIDR")
    if value is None:
        return ()
    if type(value) is str:
        value = [part.strip() for part in value.split(",")]
    return checked_cidrs(ctx, value, (*path, "serviceCIDR"))


def _metallb(ctx: Ctx, env: dict[str, Any]) -> tuple[int, int] | None:
    """``metallbVersion: "0.14.5"``: which endpoints make MetalLB announce (kverify.model.metallb)."""
    text = env.get("metallbVersion")
    if text is None:
        return None
    try:
        return parse_metallb_version(str(text))
    except ValueError as error:
        ctx.error(("environment", "metallbVersion"), str(error))
        return None


def _cilium(ctx: Ctx, env: dict[str, Any], path: Path, dataplane: Dataplane) -> tuple[CiliumSettings, str | None]:
    """``ciliumVersion: "1.16"`` and ``ciliumHelm: {bpf.lbExternalClusterIP: true}`` (the chart's keys)."""
    text, helm = env.get("ciliumVersion"), ctx.mapping(env, "ciliumHelm", path)
    if text is None and not helm:
        return CiliumSettings(), None
    if dataplane not in (Dataplane.CILIUM_SNAT, Dataplane.CILIUM_DSR):
        field = "ciliumVersion" if text is not None else "ciliumHelm"
        ctx.error((*path, field), "Forbidden: only with dataplane cilium-snat or cilium-dsr")
        return CiliumSettings(), None
    minor, patch = NEWEST_CILIUM, None
    if text is not None:
        try:
            minor, patch = parse_cilium_release(str(text))
        except ValueError as error:
            ctx.error((*path, "ciliumVersion"), str(error))
            return CiliumSettings(), None
    chosen = dataplane.spelling.removeprefix("cilium-")
    sets = ",".join(f"{key}={str(value).lower() if type(value) is bool else value}" for key, value in helm.items())
    try:
        settings, mode = parse_helm_sets(sets, minor, chosen, patch)
    except ValueError as error:
        key = str(error).split(":", 1)[0].split("=", 1)[0]
        ctx.error((*path, "ciliumHelm", key) if key in helm else (*path, "ciliumHelm"), str(error))
        return CiliumSettings(version=minor), None
    if mode != chosen and not settings.hybrid:
        ctx.error(
            (*path, "ciliumHelm", "loadBalancer.mode"), f"loadBalancer.mode={mode} contradicts dataplane {dataplane}"
        )
    return settings, None


def _version(ctx: Ctx, env: dict[str, Any], path: Path) -> tuple[int, tuple[tuple[str, bool], ...]]:
    """``kubernetesVersion: "1.31"`` and ``featureGates: {Name: true}`` (kube-proxy's gates)."""
    minor = NEWEST
    text = env.get("kubernetesVersion")
    if text is not None:
        try:
            minor = parse_version(str(text))
        except ValueError as error:
            ctx.error((*path, "kubernetesVersion"), str(error))
            return NEWEST, ()
    raw = ctx.mapping(env, "featureGates", path)
    gates = []
    for name, value in raw.items():
        if type(value) is not bool:
            ctx.error((*path, "featureGates", name), invalid(value, "must be true or false"))
            continue
        gates.append((str(name), value))
    try:
        resolve_gates(minor, tuple(gates))
    except ValueError as error:
        ctx.error((*path, "featureGates"), str(error))
        return minor, ()
    return minor, tuple(gates)


def _cluster(ctx: Ctx, data: dict[str, Any], file: str, proxy: ProxyConfig, lb: LoadBalancerProfile, namespace: str):  # type: ignore[no-untyped-def]
    has_manifests, has_topology = "manifests" in data, "topology" in data
    if has_manifests == has_topology:
        ctx.error((), "Required value: exactly one of `manifests` (files, relative to the spec) or `topology`")
        return Cluster(proxy=proxy, load_balancer=lb), None, {}, (), {}, ((), frozenset(), (), {}), ((), ())
    if has_topology:
        nodes, services, lines = topology_from(ctx, ctx.mapping(data, "topology", ()), proxy.service_cidrs)
        return (
            Cluster(nodes=nodes, services=services, proxy=proxy, load_balancer=lb),
            None,
            lines,
            (),
            {},
            ((), frozenset(), (), {}),
            ((), ()),
        )
    names = ctx.strings(data, "manifests", ())
    if not names and not ctx.problems:
        ctx.error(("manifests",), "Required value: at least one manifest file")
    base = os.path.dirname(file)
    files = tuple(os.path.normpath(os.path.join(base, n)) for n in names)
    for i, (n, f) in enumerate(zip(names, files, strict=True)):
        if not os.path.exists(f):
            ctx.error(("manifests", i), invalid(n, f"no such file or directory ({f})"))
    if ctx.problems:
        return Cluster(proxy=proxy, load_balancer=lb), None, {}, (), {}, ((), frozenset(), (), {}), ((), ())
    # Its problems carry their own file and line.
    loaded = load_manifests(list(files), namespace=namespace, service_cidrs=proxy.service_cidrs)
    lines = {
        key[len("Service ") :]: Location(file=f, line=n)
        for key, (f, n) in loaded.source_lines.items()
        if key.startswith("Service ")
    }
    # The manifests' ServiceCIDR objects join environment.serviceCIDR, as kube-proxy watches them all.
    proxy = to_cluster(loaded, proxy=proxy).proxy
    cluster = Cluster(nodes=loaded.nodes, services=loaded.services, proxy=proxy, load_balancer=lb)
    skipped = (loaded.skipped, loaded.skipped_kinds)
    object_lines = {key: Location(file=f, line=n) for key, (f, n) in loaded.source_lines.items()}
    # For design-time decisions, and for fixes that edit a workload.
    design_inputs = (loaded.workloads, loaded.endpoints_given, loaded.pod_sources, object_lines)
    return cluster, files, lines, loaded.ip_blocks, dict(loaded.intents), design_inputs, skipped


def _claims(
    ctx: Ctx, data: dict[str, Any], cluster: Cluster, pools: tuple[NodePool, ...]
) -> tuple[SpecClaim | AddressSpecClaim, ...]:
    services = {s.key: s for s in cluster.services}
    nodes = {n.name for n in cluster.nodes} | {f"{p.name}-{i + 1}" for p in pools for i in range(p.max_count)}
    claims: list[SpecClaim | AddressSpecClaim] = []
    seen: set[str] = set()
    for i, raw in enumerate(ctx.list_of(data, "claims", ())):
        path: Path = ("claims", i)
        if type(raw) is not dict:
            ctx.error(path, invalid(raw, "must be a mapping"))
            continue
        before = len(ctx.problems)
        known_fields(ctx, raw, path, _CLAIM)
        claim_id = ctx.string(raw, "id", path, required=True) or f"claim-{i}"
        if claim_id in seen:
            ctx.error((*path, "id"), f"Duplicate value: {quote(claim_id)}")
        seen.add(claim_id)
        expect = ctx.string(raw, "expect", path) or HOLDS
        if expect not in (HOLDS, REFUTED):
            ctx.error((*path, "expect"), unsupported(expect, (HOLDS, REFUTED)))
        allow_unknown = ctx.boolean(raw, "allowUnknown", path) is True
        why = ctx.string(raw, "why", path) or ""
        if "to" in raw:  # a claim about packets to an address of no Service
            found = address_claim_from(ctx, raw, path, claim_id, cluster, nodes)
            if found is not None and len(ctx.problems) == before:
                claims.append(attrs.evolve(found, expect=expect, allow_unknown=allow_unknown, why=why))
            continue
        service = ctx.string(raw, "service", path)
        if raw.get("service") is None:
            message = "Required value: `service` (NAMESPACE/NAME), or `to` for a claim about an address of no Service"
            ctx.error((*path, "service"), message)
        if service is not None and service not in services:
            ctx.error((*path, "service"), f"Not found: {quote(service)} (services: {names(services)})")
        client = _word(ctx, raw, "from", path, CLIENTS, "external")
        via = _word(ctx, raw, "via", path, _VIA, "load-balancer" if client is ClientKind.EXTERNAL else "cluster-ip")
        node = ctx.string(raw, "node", path)
        if node is not None and node not in nodes:
            ctx.error((*path, "node"), f"Not found: {quote(node)} (nodes: {names(nodes)})")
        source = ctx.string(raw, "sourceIP", path)
        if source is not None:
            ctx.ip(source, (*path, "sourceIP"))
        port = ctx.port(raw, "port", path)
        prop = ctx.string(raw, "property", path, required=True)
        if prop is not None and prop not in PROPERTIES and prop not in PARAMETRIC:
            ctx.error((*path, "property"), unsupported(prop, (*PROPERTIES, *PARAMETRIC)))
        hops, ratio = raw.get("hops"), raw.get("ratio")
        if prop == "at-most-hops" and (type(hops) is not int or hops < 0):
            ctx.error(
                (*path, "hops"),
                "Required value: a whole number >= 0" if hops is None else invalid(hops, "must be a whole number >= 0"),
            )
        elif prop != "at-most-hops" and hops is not None:
            ctx.error((*path, "hops"), "Forbidden: only with property at-most-hops")
        # .inf and .nan are YAML floats; a ratio bound must be finite (Fraction(inf) overflows).
        number = _finite_number(ratio)
        if prop == "share-within" and not (number and ratio is not None and ratio >= 1):
            ctx.error(
                (*path, "ratio"),
                "Required value: a number >= 1"
                if ratio is None
                else invalid(
                    ratio, "must be a number >= 1" if _finite_number(ratio) else "must be a finite number >= 1"
                ),
            )
        elif prop != "share-within" and ratio is not None:
            ctx.error((*path, "ratio"), "Forbidden: only with property share-within")
        during = during_from(ctx, raw.get("during"), (*path, "during"))
        if service in services and via is not None and len(ctx.problems) == before:
            _check_reachable(ctx, path, services[service], via)
            _check_port(ctx, path, services[service], via, port)
        if len(ctx.problems) != before or client is None or via is None or service is None or prop is None:
            continue
        claims.append(
            SpecClaim(
                id=claim_id,
                service=service,
                client=client,
                via=via,
                node=node,
                source_ip=source,
                port=port,
                prop=prop,
                hops=hops,
                ratio=float(ratio) if ratio is not None else None,
                expect=expect,
                allow_unknown=allow_unknown,
                why=why,
                during=during,
                location=Location(file=ctx.file, line=ctx.locate(path)),
            )
        )
    return tuple(claims)


def _check_port(ctx: Ctx, path: Path, service, via: Destination, port: int | None) -> None:  # type: ignore[no-untyped-def]
    """A claim about a port the Service does not have is a mistake in the spec, not a verdict:
    without this, kverify decided the unmatched port (not intercepted) and refuted the claim."""
    if port is None or service.port(port) is not None:
        return
    if via is Destination.NODE_PORT and service.node_port_for(port) is not None:
        return  # a claim via the NodePort may name the nodePort itself
    offered = ", ".join(f"{p.port}/{p.protocol}" for p in service.ports) or "none"
    ctx.error((*path, "port"), f"Not found: {port}: Service {service.key} has no TCP port {port} (ports: {offered})")


def _finite_number(value: object) -> bool:
    if type(value) is int:
        return abs(value) < 2**1000  # beyond, float() overflows
    return type(value) is float and math.isfinite(value)


def _check_reachable(ctx: Ctx, path: Path, service, via: Destination) -> None:  # type: ignore[no-untyped-def]
    if via is Destination.LOAD_BALANCER and not service.load_balancer_ingress:
        ctx.error((*path, "via"), f'Invalid value: "load-balancer": Service {service.key} has no load-balancer ingress')
    elif via is Destination.NODE_PORT and not any(p.node_port for p in service.ports):
        ctx.error((*path, "via"), f'Invalid value: "node-port": Service {service.key} has no nodePort')
    elif via is Destination.EXTERNAL_IP and not service.external_ips:
        ctx.error((*path, "via"), f'Invalid value: "external-ip": Service {service.key} has no externalIPs')


def _word(ctx: Ctx, m: dict[str, Any], key: str, path: Path, words: dict[str, Any], default: str) -> Any:
    value = m.get(key, default)
    if type(value) is str and value in words:  # a list or map is unhashable: no `in` on it
        return words[value]
    ctx.error((*path, key), unsupported(value, tuple(words)))
    return None


def _builtin(
    ctx: Ctx, m: dict[str, Any], cluster: Cluster
) -> tuple[bool, tuple[str, ...], tuple[ExpectedFinding, ...]]:
    from kverify.check.catalogue import CHECKS  # checks depend on exhaustive, not on specs

    path: Path = ("builtinChecks",)
    known_fields(ctx, m, path, _BUILTIN)
    enabled = ctx.boolean(m, "enabled", path) is not False
    services = {s.key for s in cluster.services}
    needs = tuple(ctx.strings(m, "needsClientIP", path))
    for i, key in enumerate(needs):
        if key not in services:
            ctx.error((*path, "needsClientIP", i), f"Not found: {quote(key)} (services: {names(services)})")
    expected: list[ExpectedFinding] = []
    ids = tuple(c.id for c in CHECKS)
    for i, raw in enumerate(ctx.list_of(m, "expectFindings", path)):
        p: Path = (*path, "expectFindings", i)
        if type(raw) is not dict:
            ctx.error(p, invalid(raw, "must be a mapping"))
            continue
        known_fields(ctx, raw, p, ("check", "service"))
        check = ctx.string(raw, "check", p, required=True)
        service = ctx.string(raw, "service", p, required=True)
        if check is not None and check not in ids:
            ctx.error((*p, "check"), unsupported(check, ids))
        if service is not None and service not in services:
            ctx.error((*p, "service"), f"Not found: {quote(service)} (services: {names(services)})")
        if check and service:
            expected.append(
                ExpectedFinding(check=check, service=service, location=Location(file=ctx.file, line=ctx.locate(p)))
            )
    return enabled, needs, tuple(expected)
