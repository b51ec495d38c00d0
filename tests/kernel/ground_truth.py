"""Send each fixture flow through the kernel, ask kverify's ``route()`` about the same flow, compare.

Four aspects are compared, each only where both sides say something:

- **fate**: delivered to a pod, dropped (the client times out, or its own host refuses to send:
  EPERM), rejected (connection refused: TCP RST or ICMP port unreachable), or not intercepted (no
  kube-proxy rule applies: the packet goes on to whatever owns the address; any fate but reaching a
  Service's pod agrees);
- **endpoints**: the set of pods reached, over repeated attempts, against the set kverify lists;
- **source**: the address each pod saw, against ``Outcome.source_ip_seen``;
- **reply**: whether the answer came back from the address the client contacted (a connected socket
  says so; the sniffer lists every source that answered), against ``Outcome.reply_ok``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kverify.concrete.route import route
from kverify.model import Cni, DropKind
from tests.kernel.fixture import Fixture, LabFlow, on_cni
from tests.kernel.harness import DROP_WINDOW, RULES, Attempt, Lab

#: The CNI profile whose layout the routed lab is: a bridge per node holding the pod subnet's gateway, routes to
#: the other node's pods over the underlay, hairpin mode on (flannel's host-gw backend; the lab does not load
#: flannel's own masquerade rules, see report.explain_profile).
PROFILE = Cni.FLANNEL_HOST_GW
# Up to three random endpoints: the odds of missing one are below 3 * (2/3)^40 = 2e-7 a flow. With 16
# (0.5% a flow) a CI run saw the kernel reach 2 of 3 endpoints that kverify rightly listed.
MAX_ATTEMPTS = 40
KERNEL_FATE = {"connected": "delivered", "timeout": "dropped", "blocked": "dropped", "refused": "refused"}


@dataclass(frozen=True)
class Observation:
    """What the kernel did with one flow, over one or more attempts."""

    fates: tuple[str, ...]  # delivered | dropped | refused | unreachable | error, sorted, distinct
    details: tuple[str, ...]  # the client's own words (timeout, blocked, refused...), distinct
    seen: tuple[tuple[str, str], ...]  # (endpoint reached, source address it saw), sorted, distinct
    replies: tuple[str, ...]  # every packet that answered the client ("SRC tcp SA"...), sorted
    attempts: int

    @property
    def replies_from(self) -> tuple[str, ...]:
        return tuple(sorted({reply.split()[0] for reply in self.replies}))

    @property
    def endpoints(self) -> tuple[str, ...]:
        return tuple(sorted({endpoint for endpoint, _ in self.seen}))

    @property
    def reply_from_contacted(self) -> bool:
        return "delivered" in self.fates

    def summary(self) -> str:
        if self.seen:
            text = ", ".join(f"{e} (saw {s})" for e, s in self.seen)
            others = [d for d in self.details if d != "connected"]
            return text + (f"; also {', '.join(others)}" if others else "")
        answered = f"; answered by {', '.join(self.replies)}" if self.replies else ""
        return "/".join(self.details) + answered


@dataclass(frozen=True)
class Expectation:
    """What kverify's ``route()`` says about the same flow."""

    fate: str  # delivered | drop | reject | not-intercepted (or several, joined by '+')
    seen: tuple[tuple[str, str], ...]
    reply_ok: bool

    @property
    def endpoints(self) -> tuple[str, ...]:
        return tuple(sorted({endpoint for endpoint, _ in self.seen}))

    def summary(self) -> str:
        if self.seen:
            return ", ".join(f"{e} (saw {s})" for e, s in self.seen)
        return self.fate


def open_lab(fixture: Fixture, **options: object) -> Lab:
    """A lab (not yet entered) with the fixture's pods, VIPs and bridges."""
    return Lab(pods=fixture.pods, vips=fixture.vips, bridges=dict(fixture.bridges), **options)  # type: ignore[arg-type]


def load_rules(lab: Lab, fixture: Fixture) -> None:
    (rules,) = fixture.rules
    if rules.endswith(".nft"):
        lab.load_nftables(RULES / rules)
    else:
        lab.load_iptables(RULES / rules, RULES / "iptables_jumps.rules")


def observe(
    lab: Lab, fixture: Fixture, flow: LabFlow, *, timeout: float = DROP_WINDOW, max_attempts: int = MAX_ATTEMPTS
) -> Observation:
    """Attempt ``flow`` until every endpoint of its Service has answered, or an attempt fails, or
    ``max_attempts`` ran (the Service's endpoints come from the Go fixture, not from kverify)."""
    service = fixture.cluster.service(flow.service)
    assert service is not None, flow.service
    wanted = {e.ip for e in service.endpoints}
    pod_ips = {pod.name: pod.ip for pod in fixture.pods}
    attempts: list[Attempt] = []
    while len(attempts) < max_attempts:
        if fixture.forget_affinity:
            lab.forget_affinity()
        src = flow.src if flow.bind else None
        attempt = lab.attempt(flow.namespace, flow.dst, flow.port, src=src, proto=flow.proto, timeout=timeout)
        attempts.append(attempt)
        reached = {pod_ips[a.pod] for a in attempts if a.pod}
        if attempt.outcome != "connected" and not reached:
            break
        if wanted <= reached:
            break
    return summarize(attempts, pod_ips)


def summarize(attempts: list[Attempt], pod_ips: dict[str, str]) -> Observation:
    return Observation(
        fates=tuple(sorted({KERNEL_FATE.get(a.outcome, a.outcome) for a in attempts})),
        details=tuple(sorted({a.outcome for a in attempts})),
        seen=tuple(sorted({(pod_ips.get(a.pod, a.pod), a.peer_seen or "") for a in attempts if a.pod})),
        replies=tuple(sorted(set().union(*(a.replies for a in attempts)))),
        attempts=len(attempts),
    )


def expect(fixture: Fixture, flow: LabFlow, cni: Cni = Cni.GENERIC) -> Expectation:
    cluster = fixture.cluster if cni is Cni.GENERIC else on_cni(fixture, cni)
    outcomes = route(cluster, flow.kverify_flow(fixture.test_node))
    fates = sorted({"delivered" if o.delivered else (o.drop_kind or DropKind.DROP).spelling for o in outcomes})
    return Expectation(
        fate="+".join(fates),
        seen=tuple(sorted({(o.endpoint_ip or "", o.source_ip_seen or "") for o in outcomes if o.delivered})),
        reply_ok=all(o.reply_ok for o in outcomes if o.delivered) and any(o.delivered for o in outcomes),
    )


FATE_AGREES = {
    "delivered": {"delivered"},
    "drop": {"dropped"},
    "reject": {"refused"},
    # Not intercepted: the packet goes on untranslated to whatever owns the address (which refuses
    # it itself when nothing listens), or on towards a router that has no route for it.
    "not-intercepted": {"refused by the destination", "dropped", "unreachable"},
}


def differences(flow: LabFlow, expected: Expectation, observed: Observation) -> dict[str, str]:
    """Each aspect on which kverify and the kernel disagree, with both sides in words."""
    found: dict[str, str] = {}
    allowed = set().union(*(FATE_AGREES[f] for f in expected.fate.split("+")))
    fates = set(observed.fates)
    refused_by_destination = "refused" in fates and observed.replies_from == (flow.dst,)
    if refused_by_destination and "refused by the destination" in allowed:
        fates = (fates - {"refused"}) | {"refused by the destination"}
    if not fates <= allowed:
        found["fate"] = f"kverify {expected.fate}, kernel {'+'.join(observed.fates)}"
    if expected.seen and observed.seen:
        if expected.endpoints != observed.endpoints:
            found["endpoints"] = f"kverify {', '.join(expected.endpoints)}, kernel {', '.join(observed.endpoints)}"
        for endpoint, source in observed.seen:
            model = dict(expected.seen).get(endpoint)
            if model is not None and model != source:
                found[f"source at {endpoint}"] = f"kverify {model}, kernel {source}"
    if expected.reply_ok != observed.reply_from_contacted and "delivered" in expected.fate.split("+"):
        found["reply"] = f"kverify reply_ok={expected.reply_ok}, kernel answered from {observed.replies_from or '-'}"
    return found


@dataclass(frozen=True)
class Row:
    fixture: Fixture
    flow: LabFlow
    expected: Expectation
    observed: Observation
    disagreements: dict[str, str]
    #: kverify on the lab's own CNI profile (PROFILE), and where it disagrees with the kernel.
    profile_expected: Expectation | None = None
    profile_disagreements: dict[str, str] = field(default_factory=dict)

    @property
    def agrees(self) -> bool:
        return not self.disagreements


def compare(lab: Lab, fixture: Fixture) -> list[Row]:
    """Every flow of ``fixture`` through ``lab`` (which has the fixture's rules loaded)."""
    rows = []
    for flow in fixture.flows:
        expected = expect(fixture, flow)
        observed = observe(lab, fixture, flow)
        profile = expect(fixture, flow, PROFILE)
        rows.append(
            Row(
                fixture,
                flow,
                expected,
                observed,
                differences(flow, expected, observed),
                profile,
                differences(flow, profile, observed),
            )
        )
    return rows
