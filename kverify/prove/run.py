"""Orchestration: a claim and a dataplane -> a verdict, with every counterexample replayed.

A counterexample the solver finds is decoded into model values and replayed through the executable
model; if the executable model does not show the same violation, that is an internal error
(``InternalError``), never output.
"""

from __future__ import annotations

import hashlib
import shlex
import time
from collections.abc import Iterator
from typing import Any

import attrs

from kverify.concrete.route import _outcomes, _service, handlings, route
from kverify.distribution import pod_shares
from kverify.errors import InternalError
from kverify.load.export import manifests
from kverify.model import AddressFlow, ClientKind, Cluster, Cni, Dataplane, Destination, Flow
from kverify.model.cilium import CiliumSettings
from kverify.model.metallb import NEWEST_METALLB
from kverify.model.versions import NEWEST
from kverify.prove.claims import AddressClaim, Claim, SpreadClaim
from kverify.prove.commands import trace_command
from kverify.results import Outcome
from kverify.semantics.decide import decide
from kverify.semantics.load_balancer import may_receive
from kverify.semantics.ops import CONCRETE
from kverify.semantics.world import World
from kverify.symbolic import prove
from kverify.symbolic.spread import find_uneven_spread, spread_bounds
from kverify.verdicts import Counterexample, Proved, Refuted, Unknown, Verdict

ASSUMPTIONS = (
    "one Service port; endpoint IPs are distinct",
    "node addresses lie outside the cluster CIDR",
    "kube-proxy is healthy (its health checks reflect its endpoints)",
)


def _cilium_assumptions(dataplane: Dataplane, cilium: CiliumSettings | None) -> tuple[str, ...]:
    """What a Cilium proof leaves out because kverify does not model it (the encoding excludes it)."""
    if dataplane in (Dataplane.CILIUM_SNAT, Dataplane.CILIUM_DSR) and cilium and cilium.socket_lb_host_namespace_only:
        return ("pods' NodePort flows under socketLB.hostNamespaceOnly are not covered (not modelled)",)
    return ()


def _unpinned_assumptions(dataplane: Dataplane, version: int) -> tuple[str, ...]:
    """What a proof leaves out at a version where kverify read a change but did not pin its release."""
    from kverify.semantics import nftables_nodeports as nodeports

    unpinned = nodeports.LAST_CHECKED_IN_OUTPUT < version < nodeports.FIRST_CHECKED_IN_INPUT_ONLY
    if dataplane is Dataplane.NFTABLES and unpinned:
        return (f"not covered (not modelled): {nodeports.NOT_MODELLED}",)
    return ()


def concrete_worlds(cluster: Cluster, flow: Flow) -> Iterator[tuple[Outcome, World]]:
    """Each outcome of ``route(cluster, flow)`` with the World claims read."""
    service = _service(cluster, flow)
    for handling in handlings(cluster, flow, service):
        s = handling.situation
        decision = decide(CONCRETE, s)
        node_index = cluster.nodes.index(handling.node) if handling.node else None
        lb_pick = may_receive(CONCRETE, s, node_index) if node_index is not None else True
        outcomes = _outcomes(cluster, flow, service, handling)
        chosen = [i for i, c in enumerate(decision.chosen) if c]
        if not decision.delivered:
            chosen = [None]  # type: ignore[list-item]
        for outcome, index in zip(outcomes, chosen, strict=True):

            def pick(values, index=index):
                return False if index is None else values[index]

            yield outcome, World(ops=CONCRETE, situation=s, decision=decision, pick=pick, lb_may_pick_node=lb_pick)


def violations(claim: Claim, cluster: Cluster, flow: Flow) -> list[Outcome]:
    """The outcomes of ``flow`` that break ``claim`` (executable model)."""
    return [o for o, w in concrete_worlds(cluster, flow) if w.ops.and_(claim.assume(w), w.ops.not_(claim.require(w)))]


ANY_SIZE = (
    "all clusters, any number of nodes and endpoints (endpoint-kind abstraction), every client kind, "
    "destination, traffic policy, endpoint state, topology hint and proxy option"
)


def scope(max_nodes: int, max_endpoints: int) -> str:
    return (
        f"all clusters with <= {max_nodes} nodes and <= {max_endpoints} endpoints behind the Service port, "
        "every client kind, destination, traffic policy, endpoint state, topology hint and proxy option"
    )


def _replay(claim: Claim, dataplane: Dataplane, answer: prove.Answer) -> Counterexample:
    decoded = answer.decoded
    assert decoded is not None
    flow = decoded.flow
    replay_flow = flow
    if claim.via_load_balancer and flow.client is ClientKind.EXTERNAL and flow.destination is Destination.LOAD_BALANCER:
        replay_flow = attrs.evolve(flow, node=None)
    broken = [
        o for o in violations(claim, decoded.cluster, replay_flow) if o.node == decoded.handling_node or o.node is None
    ]
    matching = [o for o in broken if o.endpoint_ip == decoded.endpoint_ip or not o.delivered]
    if not matching:
        raise InternalError(
            f"the solver's counterexample to {claim.id!r} on {dataplane.spelling} does not replay: "
            f"solver chose node {decoded.handling_node}, endpoint {decoded.endpoint_ip}; executable model "
            f"violations: {[o.to_json() for o in broken]}\ncluster: {decoded.cluster}\nflow: {replay_flow}"
        )
    outcome = matching[0]
    if claim.shows_load_balancer_pick:
        # The violation is the load balancer not sending to the node: what people see is the flow with the
        # load balancer picking (its outcome without a node: nobody it may send to).
        replay_flow = flow = attrs.evolve(flow, node=None)
        outcome = _no_node_picked(claim, dataplane, decoded.cluster, replay_flow)
    manifest = manifests(decoded.cluster)
    cx_id = _counterexample_id(decoded.cluster, manifest, replay_flow, claim.id)
    return Counterexample(
        cluster=decoded.cluster,
        flow=replay_flow,
        outcome=outcome,
        id=cx_id,
        command=trace_command(decoded.cluster, flow, f"{cx_id}.yaml", via_load_balancer=replay_flow.node is None),
        manifest=manifest,
    )


def _counterexample_id(cluster: Cluster, manifest: str, flow: Flow, claim_id: str) -> str:
    """A stable id for a counterexample: the same inputs give the same id, run after run.

    The manifest does not carry what the user chose outside it (the proxy's settings and versions, the load
    balancer profile, PROXY protocol, the MetalLB release), so those go into the digest too: two counterexamples
    that differ only in, say, ``--metallb-version`` are two different citations in a review, not one.
    """
    settings = (cluster.proxy, cluster.load_balancer, cluster.proxy_protocol, cluster.metallb_version)
    digest = hashlib.sha256((manifest + repr(flow) + claim_id + repr(settings)).encode()).hexdigest()[:10]
    return f"cx-{digest}"


def _no_node_picked(claim: Claim, dataplane: Dataplane, cluster: Cluster, flow: Flow) -> Outcome:
    """The executable model's outcome of ``flow`` when the load balancer sends it to no node."""
    unsent = [o for o in route(cluster, flow) if o.node is None and not o.delivered]
    if not unsent:
        raise InternalError(
            f"the solver's counterexample to {claim.id!r} on {dataplane.spelling} does not replay: the load "
            f"balancer sends to some node in the executable model\ncluster: {cluster}\nflow: {flow}"
        )
    return unsent[0]


def _replay_spread(claim: SpreadClaim, dataplane: Dataplane, answer: prove.Answer) -> Counterexample:
    decoded = answer.decoded
    assert decoded is not None
    flow = attrs.evolve(decoded.flow, node=None)
    shares = pod_shares(decoded.cluster, flow)
    if len(set(shares.values())) < 2:
        raise InternalError(
            f"the solver's counterexample to {claim.id!r} on {dataplane.spelling} does not replay: "
            f"executable model shares {shares}\ncluster: {decoded.cluster}\nflow: {flow}"
        )
    richest = max(shares, key=lambda ip: shares[ip])
    outcome = next(o for o in route(decoded.cluster, flow) if o.endpoint_ip == richest)
    manifest = manifests(decoded.cluster)
    cx_id = _counterexample_id(decoded.cluster, manifest, flow, claim.id)
    detail = ", ".join(f"{ip} gets {share}" for ip, share in sorted(shares.items()))
    return Counterexample(
        cluster=decoded.cluster,
        flow=flow,
        outcome=outcome,
        id=cx_id,
        command=trace_command(decoded.cluster, flow, f"{cx_id}.yaml", via_load_balancer=True),
        manifest=manifest,
        detail=f"per-pod shares of the load balancer's connections: {detail}",
    )


def prove_claim(
    claim: Claim | AddressClaim | SpreadClaim,
    dataplane: Dataplane,
    *,
    max_nodes: int = prove.DEFAULT_MAX_NODES,
    max_endpoints: int = prove.DEFAULT_MAX_ENDPOINTS,
    timeout_ms: int = prove.DEFAULT_TIMEOUT_MS,
    version: int = NEWEST,
    feature_gates: tuple[tuple[str, bool], ...] = (),
    cni: Cni = Cni.GENERIC,
    cilium: CiliumSettings | None = None,
    metallb: tuple[int, int] = NEWEST_METALLB,
) -> Verdict:
    """Prove ``claim`` on ``dataplane`` within the bounds, or refute it with a replayed counterexample.

    The proof is for kube-proxy of Kubernetes v1.``version`` with its default feature gates, then
    ``feature_gates``, on the pod network ``cni`` (a claim about one CNI names its own); on Cilium, for
    the version and Helm options ``cilium`` gives (default: the newest modelled, chart defaults); behind
    MetalLB, for the release ``metallb`` (default: the newest modelled)."""
    started = time.perf_counter()
    if isinstance(claim, AddressClaim):
        return prove_address_claim(
            claim, dataplane, version=version, feature_gates=feature_gates, timeout_ms=timeout_ms, started=started
        )
    cni = getattr(claim, "cni", None) or cni
    env: dict[str, Any] = {
        "version": version,
        "feature_gates": feature_gates,
        "cni": cni,
        "cilium": cilium,
        "metallb": metallb,
    }
    bounds = scope(max_nodes, max_endpoints)
    if isinstance(claim, SpreadClaim):
        # Shares count endpoints, which the kind abstraction forgets: bounded, stated in the scope.
        bounds = scope(*spread_bounds(max_nodes, max_endpoints))
        answer = find_uneven_spread(
            claim, dataplane, max_nodes=max_nodes, max_endpoints=max_endpoints, timeout_ms=timeout_ms, **env
        )
    else:
        answer = prove.find_violation_any_size(claim, dataplane, timeout_ms=timeout_ms, **env)
        if answer.status == "unsat":
            bounds = ANY_SIZE
        elif answer.status == "sat":
            # A violation exists: look for the smallest one within the bounds, for people to read.
            smallest = prove.find_violation(
                claim, dataplane, max_nodes=max_nodes, max_endpoints=max_endpoints, timeout_ms=timeout_ms, **env
            )
            if smallest.status != "unsat":
                answer = smallest
            bounds = ANY_SIZE
    if answer.status == "unsat":
        return Proved(
            claim=claim.id,
            dataplane=dataplane,
            scope=bounds,
            assumptions=(
                ASSUMPTIONS + _cilium_assumptions(dataplane, cilium) + _unpinned_assumptions(dataplane, version)
            ),
            seconds=time.perf_counter() - started,
        )
    if answer.status == "unknown":
        return Unknown(
            claim=claim.id,
            dataplane=dataplane,
            reason=answer.reason,
            scope=bounds,
            seconds=time.perf_counter() - started,
        )
    if answer.decoded is not None:
        # The decoder names a release that behaves as the pinned one; the counterexample names the one asked.
        answer = attrs.evolve(
            answer, decoded=attrs.evolve(answer.decoded, cluster=_with_metallb(answer.decoded.cluster, metallb))
        )
    if isinstance(claim, SpreadClaim):
        counterexample = _replay_spread(claim, dataplane, answer)
    else:
        counterexample = _replay(claim, dataplane, answer)
    return Refuted(
        claim=claim.id,
        dataplane=dataplane,
        scope=bounds,
        counterexample=counterexample,
        seconds=time.perf_counter() - started,
    )


ADDRESS_SCOPE = (
    "all clusters, any number of nodes and endpoints (none takes part: every node's proxy answers alike, and "
    "the rule reads no endpoint), every address (IPv4 and IPv6) with up to {} service CIDRs and {} Services' "
    "ClusterIPs (the rule reads each on its own), every client kind and arrival node"
)


def prove_address_claim(
    claim: AddressClaim,
    dataplane: Dataplane,
    *,
    version: int = NEWEST,
    feature_gates: tuple[tuple[str, bool], ...] = (),
    timeout_ms: int = prove.DEFAULT_TIMEOUT_MS,
    started: float | None = None,
) -> Verdict:
    """Prove an address claim (its own solver query, :mod:`kverify.symbolic.address`), or refute it with a
    counterexample replayed through :func:`kverify.concrete.route_address`."""
    from kverify.concrete.service_cidr import address_worlds
    from kverify.symbolic import address

    started = time.perf_counter() if started is None else started
    bounds = ADDRESS_SCOPE.format(address.MAX_CIDRS, address.MAX_SERVICES)
    answer = address.find_violation(
        claim, dataplane, version=version, feature_gates=feature_gates, timeout_ms=timeout_ms
    )
    seconds = time.perf_counter() - started
    if answer.status == "unsat":
        return Proved(claim=claim.id, dataplane=dataplane, scope=bounds, seconds=seconds)
    if answer.status == "unknown" or answer.cluster is None or answer.flow is None:
        return Unknown(claim=claim.id, dataplane=dataplane, reason=answer.reason, scope=bounds, seconds=seconds)
    cluster, flow = answer.cluster, answer.flow
    broken = [o for o, w in address_worlds(cluster, flow) if w.ops.and_(claim.assume(w), w.ops.not_(claim.require(w)))]
    if not broken:
        raise InternalError(
            f"the solver's counterexample to {claim.id!r} on {dataplane.spelling} does not replay: the executable "
            f"model does not break the claim\ncluster: {cluster}\nflow: {flow}"
        )
    manifest = manifests(cluster)
    cx_id = "cx-" + hashlib.sha256((manifest + repr(flow) + repr(cluster.proxy) + claim.id).encode()).hexdigest()[:10]
    counterexample = Counterexample(
        cluster=cluster,
        flow=flow,
        outcome=broken[0],
        id=cx_id,
        command=address_trace_command(cluster, flow, f"{cx_id}.yaml"),
        manifest=manifest,
    )
    return Refuted(claim=claim.id, dataplane=dataplane, scope=bounds, counterexample=counterexample, seconds=seconds)


def address_trace_command(cluster: Cluster, flow: AddressFlow, manifest_file: str) -> str:
    """``kverify trace --to-address`` for a packet to an address of no Service."""
    proxy = cluster.proxy
    words = ["kverify", "trace", manifest_file, "--to-address", flow.dst_ip, "--from", flow.client.spelling]
    if flow.node:
        words += ["--node", flow.node]
    words += ["--dataplane", proxy.dataplane.spelling]
    if proxy.kubernetes_version != NEWEST:
        words += ["--kubernetes-version", f"1.{proxy.kubernetes_version}"]
    if proxy.feature_gates:
        words += ["--feature-gates", ",".join(f"{n}={str(v).lower()}" for n, v in proxy.feature_gates)]
    for cidr in proxy.service_cidrs:
        words += ["--service-cidr", cidr]
    return shlex.join(words)


def _with_metallb(cluster: Cluster, metallb: tuple[int, int]) -> Cluster:
    return attrs.evolve(cluster, metallb_version=metallb)


Work = tuple[str, int, int, int, int, int, tuple[tuple[str, bool], ...], int, "CiliumSettings | None", tuple[int, int]]


def _prove_batch(batch: list[Work]) -> list[Verdict]:
    from kverify.prove.claims import find_claim

    return [
        prove_claim(
            find_claim(claim_id),
            Dataplane(dp),
            max_nodes=n,
            max_endpoints=m,
            timeout_ms=t,
            version=v,
            feature_gates=g,
            cni=Cni(net),
            cilium=c,
            metallb=lb,
        )
        for claim_id, dp, n, m, t, v, g, net, c, lb in batch
    ]


def prove_all(
    pairs: list[tuple[Claim | AddressClaim | SpreadClaim, Dataplane]],
    *,
    jobs: int = 1,
    max_nodes: int = prove.DEFAULT_MAX_NODES,
    max_endpoints: int = prove.DEFAULT_MAX_ENDPOINTS,
    timeout_ms: int = prove.DEFAULT_TIMEOUT_MS,
    version: int = NEWEST,
    feature_gates: tuple[tuple[str, bool], ...] = (),
    versions: list[int] | None = None,
    cni: Cni = Cni.GENERIC,
    cilium: CiliumSettings | None = None,
    metallb: tuple[int, int] = NEWEST_METALLB,
) -> list[Verdict]:
    """Verdicts for every (claim, dataplane), in order, using up to ``jobs`` processes.

    Each process builds the encodings once and answers a contiguous share of the queries; Z3 is
    deterministic per query, so the verdicts do not depend on ``jobs``. ``versions``, when given,
    holds each pair's Kubernetes minor version (else every pair is proved at ``version``).
    """
    per_pair = versions if versions is not None else [version] * len(pairs)
    work: list[Work] = [
        (c.id, int(dp), max_nodes, max_endpoints, timeout_ms, v, feature_gates, int(cni), cilium, metallb)
        for (c, dp), v in zip(pairs, per_pair, strict=True)
    ]
    if jobs <= 1 or len(work) < 2:
        return _prove_batch(work)
    import concurrent.futures
    import multiprocessing

    size = -(-len(work) // jobs)
    batches = [work[i : i + size] for i in range(0, len(work), size)]
    context = multiprocessing.get_context("spawn")  # z3 contexts must not cross a fork
    with concurrent.futures.ProcessPoolExecutor(max_workers=len(batches), mp_context=context) as pool:
        return [v for batch in pool.map(_prove_batch, batches) for v in batch]
