"""Assertions for your own tests: prove a claim, or check a cluster, and fail with the counterexample.

Two ways to say what must hold:

- a **claim** (a library claim id such as ``"etp-local-external-stays-local"``, or a
  :class:`~kverify.prove.claims.Claim`): without a cluster it is proved with Z3 for every cluster (see
  the scope of the verdict); with ``cluster=`` and ``flow=`` it is checked on every outcome of that flow;
- a **predicate** on :class:`~kverify.results.Outcome` (any callable returning a bool): checked on
  every outcome of ``flow`` in ``cluster`` (the executable model, :func:`kverify.concrete.route`).

A failure raises :class:`AssertionError` whose message is the counterexample a reviewer reads: the
outcome line, every hop with its addresses, the rules that decided it, and a ``kverify`` command
that reproduces it. ``Unknown`` never passes. Bad arguments raise ``ValueError``/``TypeError`` and bad
clusters :class:`~kverify.errors.InputError`, without a traceback into kverify.

This module imports z3 only when a proof is asked for: pytest imports ``kverify.testing`` in every
session of a project that installs kverify.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable
from typing import TYPE_CHECKING, overload

import attrs

from kverify.errors import InputError
from kverify.model import Cluster, Dataplane, Flow, LoadBalancerProfile
from kverify.prove.claims import ALL_CLAIMS, AddressClaim, Claim, SpreadClaim, find_claim
from kverify.report.trace_text import outcome_line
from kverify.results import Outcome
from kverify.testing.tracing import Trace, _configure, _parse, _route, flow_to, load_cluster, manifest_files, trace

if TYPE_CHECKING:
    from kverify.verdicts import Counterexample, Proved, Verdict

__all__ = ["Predicate", "Trace", "assert_holds", "assert_refuted", "flow_to", "load_cluster", "trace"]

#: A property of one outcome, e.g. ``lambda o: o.delivered and not o.masqueraded``.
Predicate = Callable[[Outcome], bool]
ClaimLike = str | Claim | SpreadClaim

#: How many failing outcomes a message shows in full (the rest are counted).
SHOWN_OUTCOMES = 4


# -- the assertions -------------------------------------------------------------------------------


@overload
def assert_holds(
    claim: ClaimLike,
    *,
    dataplane: Dataplane | str | None = None,
    max_nodes: int | None = None,
    max_endpoints: int | None = None,
    timeout: float = 20.0,
) -> Proved: ...
@overload
def assert_holds(
    claim: ClaimLike | Predicate,
    *,
    cluster: Cluster,
    flow: Flow,
    dataplane: Dataplane | str | None = None,
    load_balancer: LoadBalancerProfile | str | None = None,
) -> Trace: ...
def assert_holds(
    claim: ClaimLike | Predicate,
    *,
    cluster: Cluster | None = None,
    flow: Flow | None = None,
    dataplane: Dataplane | str | None = None,
    load_balancer: LoadBalancerProfile | str | None = None,
    max_nodes: int | None = None,
    max_endpoints: int | None = None,
    timeout: float = 20.0,
) -> Proved | Trace:
    """Fail unless ``claim`` holds; return the evidence.

    - ``assert_holds("etp-local-external-stays-local", dataplane="iptables")`` proves a claim with Z3
      for every cluster (``dataplane`` defaults to iptables, kube-proxy's default) and returns the
      :class:`~kverify.verdicts.Proved` verdict, which states its scope: any size for claims about one
      outcome, ``max_nodes``/``max_endpoints`` for claims that count endpoints. A refutation fails with the
      minimal counterexample; ``Unknown`` fails.
    - ``assert_holds(predicate_or_claim, cluster=..., flow=...)`` checks every outcome of ``flow``
      (on the cluster's dataplane unless ``dataplane`` is given) and returns the :class:`Trace`. It
      fails with the outcomes that break it, and when a claim's assumption meets no outcome (a
      claim that holds only vacuously is almost always a mistake in the test).
    """
    __tracebackhide__ = True
    if cluster is None and flow is None:
        _no_load_balancer_for_proofs(load_balancer)
        verdict = _prove(claim, dataplane, max_nodes, max_endpoints, timeout)
        from kverify.verdicts import Proved, Refuted

        if isinstance(verdict, Proved):
            return verdict
        if isinstance(verdict, Refuted):
            raise AssertionError(_refuted_message(_as_claim(claim), verdict, max_nodes, max_endpoints))
        raise AssertionError(_unknown_message(verdict))
    checked = _check(claim, cluster, flow, dataplane, load_balancer)
    if checked.broken:
        raise AssertionError(checked.failure())
    if checked.vacuous:
        raise AssertionError(checked.vacuity())
    return checked.trace


@overload
def assert_refuted(
    claim: ClaimLike,
    *,
    dataplane: Dataplane | str | None = None,
    max_nodes: int | None = None,
    max_endpoints: int | None = None,
    timeout: float = 20.0,
) -> Counterexample: ...
@overload
def assert_refuted(
    claim: ClaimLike | Predicate,
    *,
    cluster: Cluster,
    flow: Flow,
    dataplane: Dataplane | str | None = None,
    load_balancer: LoadBalancerProfile | str | None = None,
) -> tuple[Outcome, ...]: ...
def assert_refuted(
    claim: ClaimLike | Predicate,
    *,
    cluster: Cluster | None = None,
    flow: Flow | None = None,
    dataplane: Dataplane | str | None = None,
    load_balancer: LoadBalancerProfile | str | None = None,
    max_nodes: int | None = None,
    max_endpoints: int | None = None,
    timeout: float = 20.0,
) -> Counterexample | tuple[Outcome, ...]:
    """Fail unless ``claim`` is broken; return what breaks it.

    Without a cluster, Z3 must refute the claim: returns the minimal, replayed
    :class:`~kverify.verdicts.Counterexample` (a proof fails, with its scope; ``Unknown`` fails).
    With ``cluster=`` and ``flow=``: returns the outcomes that break the predicate or claim, and
    fails, showing every outcome, when none does.
    """
    __tracebackhide__ = True
    if cluster is None and flow is None:
        _no_load_balancer_for_proofs(load_balancer)
        verdict = _prove(claim, dataplane, max_nodes, max_endpoints, timeout)
        from kverify.verdicts import Proved, Refuted

        if isinstance(verdict, Refuted):
            return verdict.counterexample
        if isinstance(verdict, Proved):
            raise AssertionError(
                f"expected claim {verdict.claim!r} to be refuted on {verdict.dataplane.spelling}, but it holds:\n"
                f"  proved for {verdict.scope}\n" + "".join(f"  assuming {a}\n" for a in verdict.assumptions)
            )
        raise AssertionError(_unknown_message(verdict))
    checked = _check(claim, cluster, flow, dataplane, load_balancer)
    if not checked.broken:
        raise AssertionError(checked.unbroken())
    return checked.broken


# -- proving --------------------------------------------------------------------------------------


def _prove(
    claim: ClaimLike | Predicate,
    dataplane: Dataplane | str | None,
    max_nodes: int | None,
    max_endpoints: int | None,
    timeout: float,
) -> Verdict:
    __tracebackhide__ = True
    if not isinstance(claim, str | Claim | SpreadClaim):
        raise TypeError(
            "a predicate is checked on a cluster: pass cluster= and flow= (only claims are proved for all clusters)"
        )
    resolved = _as_claim(claim)
    plane = _parse(Dataplane, dataplane, "dataplane") if dataplane is not None else Dataplane.IPTABLES
    if timeout <= 0:
        raise ValueError(f"timeout: Invalid value: {timeout}: must be positive")
    from kverify.prove.run import prove_claim
    from kverify.symbolic import prove as bounds

    nodes = bounds.DEFAULT_MAX_NODES if max_nodes is None else max_nodes
    endpoints = bounds.DEFAULT_MAX_ENDPOINTS if max_endpoints is None else max_endpoints
    for name, value, low in (("max_nodes", nodes, 1), ("max_endpoints", endpoints, 0)):
        if not isinstance(value, int) or value < low:
            raise ValueError(f"{name}: Invalid value: {value!r}: must be an integer >= {low}")
    return prove_claim(resolved, plane, max_nodes=nodes, max_endpoints=endpoints, timeout_ms=int(timeout * 1000))


def _no_load_balancer_for_proofs(load_balancer: object) -> None:
    __tracebackhide__ = True
    if load_balancer is not None:
        raise TypeError("load_balancer= applies to a cluster; a claim fixes its own load balancer when proved")


def _refuted_message(
    claim: Claim | SpreadClaim, verdict: object, max_nodes: int | None, max_endpoints: int | None
) -> str:
    from kverify.symbolic import prove as bounds
    from kverify.verdicts import Refuted

    assert isinstance(verdict, Refuted)
    cx = verdict.counterexample
    dp = verdict.dataplane.spelling
    lines = [
        f"claim {claim.id!r} does not hold on {dp}: counterexample {cx.id}, "
        f"{cx.nodes} node(s), {cx.endpoints} endpoint(s)",
        f"  claim: {claim.statement}",
        *_outcome_lines(cx.outcome),
    ]
    if cx.detail:
        lines.append(f"    {cx.detail}")
    if any(c is claim for c in ALL_CLAIMS):
        words = ["kverify", "prove", claim.id, "--dataplane", dp]
        if max_nodes not in (None, bounds.DEFAULT_MAX_NODES):
            words += ["--max-nodes", str(max_nodes)]
        if max_endpoints not in (None, bounds.DEFAULT_MAX_ENDPOINTS):
            words += ["--max-endpoints", str(max_endpoints)]
        lines.append(f"prove it again: {shlex.join(words)}")
    # The manifest, not a re-run of the proof, is the reproducer: among minimal counterexamples the
    # solver may pick another one in another process.
    lines.append(f"reproduce: save the manifest below as {cx.id}.yaml, then:")
    lines.append(f"  {cx.command} --hops")
    if claim.expected.get(verdict.dataplane) == "refuted":
        lines.append(f"why (the library expects this): {claim.why}")
    lines.append(f"manifest ({cx.id}.yaml):")
    lines.extend(f"  {line}" for line in cx.manifest.rstrip("\n").splitlines())
    return "\n".join(lines)


def _unknown_message(verdict: object) -> str:
    from kverify.verdicts import Unknown

    assert isinstance(verdict, Unknown)
    return (
        f"claim {verdict.claim!r} on {verdict.dataplane.spelling}: UNKNOWN ({verdict.reason}); "
        "unknown never passes: raise timeout= or lower max_nodes=/max_endpoints="
    )


# -- checking one cluster -------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class _Checked:
    """The outcomes of one flow, and those that break what the test asserts."""

    what: str
    trace: Trace
    broken: tuple[Outcome, ...]
    vacuous: bool  # a claim whose assumption no outcome meets

    def failure(self) -> str:
        n, total = len(self.broken), len(self.trace)
        lines = [f"{self.what} fails for {n} of {total} outcome(s) of {_flow_words(self.trace)}:"]
        for outcome in self.broken[:SHOWN_OUTCOMES]:
            lines.extend(_outcome_lines(outcome))
        if n > SHOWN_OUTCOMES:
            lines.append(f"  ... and {n - SHOWN_OUTCOMES} more")
        lines.extend(_reproduce(self.trace))
        return "\n".join(lines)

    def vacuity(self) -> str:
        lines = [
            f"{self.what} holds only vacuously for {_flow_words(self.trace)}: "
            "no outcome meets the claim's assumption, so the test checks nothing.",
            "outcomes:",
        ]
        lines.extend(f"  {outcome_line(o)}" for o in self.trace)
        return "\n".join(lines)

    def unbroken(self) -> str:
        lines = [f"expected {self.what} to fail for some outcome of {_flow_words(self.trace)}, but all hold:"]
        lines.extend(f"  {outcome_line(o)}" for o in self.trace)
        lines.extend(_reproduce(self.trace))
        return "\n".join(lines)


def _check(
    claim: ClaimLike | Predicate,
    cluster: Cluster | None,
    flow: Flow | None,
    dataplane: Dataplane | str | None,
    load_balancer: LoadBalancerProfile | str | None,
) -> _Checked:
    __tracebackhide__ = True
    if cluster is None or flow is None:
        raise TypeError("pass both cluster= and flow= (or neither, to prove a claim for all clusters)")
    if not isinstance(cluster, Cluster):
        raise TypeError(f"cluster= must be a kverify Cluster (see load_cluster()), not {type(cluster).__name__}")
    if not isinstance(flow, Flow):
        raise TypeError(f"flow= must be a kverify Flow (see flow_to()), not {type(flow).__name__}")
    cluster = _configure(cluster, dataplane, load_balancer)
    outcomes = _route(cluster, flow)
    result = Trace(cluster=cluster, flow=flow, outcomes=outcomes)
    if isinstance(claim, str | Claim | SpreadClaim):
        resolved = _as_claim(claim)
        if isinstance(resolved, SpreadClaim):
            raise TypeError(
                f"{resolved.id!r} is about how connections spread over all nodes at once; "
                "prove it (no cluster=), or check kverify.distribution.pod_shares(cluster, flow)"
            )
        from kverify.prove.run import concrete_worlds

        try:
            worlds = list(concrete_worlds(cluster, flow))
        except InputError as error:
            raise InputError(error.problems) from None
        assumed = [(o, w) for o, w in worlds if resolved.assume(w)]
        broken = tuple(o for o, w in assumed if not resolved.require(w))
        what = f"claim {resolved.id!r} ({resolved.statement})"
        return _Checked(what=what, trace=result, broken=broken, vacuous=not assumed)
    if not callable(claim):
        raise TypeError(f"expected a claim id, a Claim or a predicate on Outcome, not {type(claim).__name__}")
    broken = tuple(o for o in outcomes if not claim(o))
    return _Checked(what=_describe(claim), trace=result, broken=broken, vacuous=False)


def _describe(predicate: Callable[..., object]) -> str:
    """``keeps_client_ip (test_network.py:14)``: a name and where it is defined."""
    name = getattr(predicate, "__name__", None) or type(predicate).__name__
    code = getattr(predicate, "__code__", None)
    where = f" ({os.path.basename(code.co_filename)}:{code.co_firstlineno})" if code is not None else ""
    return f"predicate {name}{where}"


# -- shared helpers -------------------------------------------------------------------------------


def _as_claim(claim: ClaimLike | Predicate) -> Claim | SpreadClaim:
    __tracebackhide__ = True
    if isinstance(claim, Claim | SpreadClaim):
        return claim
    if isinstance(claim, str):
        try:
            found = find_claim(claim)
        except KeyError:
            known = ", ".join(c.id for c in ALL_CLAIMS)
            raise ValueError(f'Not found: "{claim}" (claims: {known})') from None
        if isinstance(found, AddressClaim):  # no Service, no flow to one: nothing these helpers take
            raise ValueError(f'"{claim}" is about addresses of no Service: prove it with `kverify prove {claim}`')
        return found
    raise TypeError(f"expected a claim id or a Claim, not {type(claim).__name__}")


def _outcome_lines(outcome: Outcome) -> list[str]:
    return [f"  {outcome_line(outcome)}", *(f"      {hop}" for hop in outcome.hops)]


def _flow_words(result: Trace) -> str:
    flow, cluster = result.flow, result.cluster
    words = f"{flow.client.spelling} client"
    if flow.client_ip:
        words += f" {flow.client_ip}"
    if flow.node:
        words += f" at {flow.node}"
    words += f" -> {flow.service} via {flow.destination.spelling}"
    if flow.dst_ip:
        words += f" {flow.dst_ip}"
    if flow.port:
        words += f":{flow.port}"
    return f"{words} ({cluster.proxy.dataplane.spelling}, {cluster.load_balancer.spelling} load balancer)"


def _reproduce(result: Trace) -> list[str]:
    lines = ["reproduce:", f"  {result.command}"]
    if manifest_files(result.cluster) is None:
        lines[1:1] = ["  (the cluster was built in code: save kverify.load.export.manifests(cluster) as cluster.yaml)"]
    return lines
