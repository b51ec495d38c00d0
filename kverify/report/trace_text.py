"""``kverify trace`` for people: one line per outcome, then (optionally) its hops."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from kverify.errors import VALUE_LIMIT, one_line
from kverify.model import DropKind, Flow
from kverify.results import ALLOCATED, Outcome, mark_allocated

if TYPE_CHECKING:
    from kverify.concrete.route import OutcomeGroup
    from kverify.model.address_flow import AddressFlow

#: Endpoints named on a group's line; the others are counted.
GROUP_SAMPLE = 3

_DROP_WORDS = {
    DropKind.DROP: "DROPPED (silently)",
    DropKind.REJECT: "REJECTED (ICMP unreachable)",
    DropKind.NOT_INTERCEPTED: "NOT INTERCEPTED by the proxy",
}


def _source_note(outcome: Outcome) -> str:
    """Why the pod sees that source: SNAT, the client's own address, or another address."""
    if outcome.masqueraded:
        return " (SNAT)"
    client_ip = outcome.hops[0].src if outcome.hops else None
    if outcome.source_ip_seen == "load-balancer":
        return " (the load balancer's address)"
    if client_ip is None or outcome.source_ip_seen == client_ip:
        return " (client IP kept)"
    return f" (not the client's address {client_ip}: the host picked it as source)"


def _reply_words(outcome: Outcome) -> str:
    """Whether the reply gets back, and the PROXY protocol header when the load balancer sends one."""
    reply = "reply ok" if outcome.reply_ok else "REPLY BROKEN (client drops it)"
    if outcome.proxy_expected:
        reply += (
            "; PROXY header"
            if outcome.proxy_header
            else "; NO PROXY header (the load balancer was bypassed: a server expecting one reports 'broken header')"
        )
    return reply


def outcome_line(outcome: Outcome) -> str:
    """One line a reviewer can read at a glance."""
    where = f"at {outcome.node}" if outcome.node else "via load balancer"
    if outcome.health_check is not None:
        hc = outcome.health_check
        return f"{where}: health check {hc.status} (localEndpoints={hc.local_endpoints})"
    if not outcome.delivered:
        drop = _DROP_WORDS[outcome.drop_kind] if outcome.drop_kind else "not delivered"
        if outcome.endpoint_ip:  # DNATed, then lost on the way (a bridge without hairpin)
            pod = f" ({outcome.endpoint_pod})" if outcome.endpoint_pod else ""
            drop += f" after DNAT to {outcome.endpoint_ip}{pod}"
        return f"{where}: {drop}  [{', '.join(outcome.rules)}]"
    hop = "crosses to" if outcome.crosses_nodes else "stays on"
    target = outcome.endpoint_node or "an unknown node"
    seen = f"pod sees {outcome.source_ip_seen}" + _source_note(outcome)
    reply = _reply_words(outcome)
    pod = f" ({one_line(outcome.endpoint_pod, VALUE_LIMIT)})" if outcome.endpoint_pod else ""
    return (
        f"{where}: delivered to {outcome.endpoint_ip}{pod}, {hop} {target}; {seen}; {reply}"
        f"  [{', '.join(outcome.rules)}]"
    )


def render(
    flow: Flow,
    outcomes: Sequence[Outcome],
    *,
    hops: bool = False,
    allocated: Sequence[tuple[str, str]] = (),
    load_balancer: str | None = None,
    environment: str = "",
) -> str:
    """The flow, one line per outcome (and its hops), a summary; ``allocated`` are the Service's
    values known only after apply (``Service.allocated_values``), marked wherever they appear."""
    addresses = frozenset(value for path, value in allocated if not path.endswith("odePort"))
    lines = _head(flow, allocated, addresses, load_balancer, environment)
    for outcome in outcomes:
        lines.append("  " + mark_allocated(outcome_line(outcome), addresses))
        if hops:
            lines.extend(f"      {mark_allocated(str(hop), addresses)}" for hop in outcome.hops)
    delivered = sum(o.delivered for o in outcomes)
    broken = sum(o.delivered and not o.reply_ok and o.health_check is None for o in outcomes)
    summary = f"{len(outcomes)} outcome(s): {delivered} delivered, {len(outcomes) - delivered} not delivered"
    lines.append(summary + (f" ({broken} with a broken reply)" if broken else ""))
    return "\n".join(lines)


def render_address(
    flow: AddressFlow,
    outcomes: Sequence[Outcome],
    *,
    hops: bool = False,
    environment: str = "",
    service_cidrs: Sequence[str] = (),
) -> str:
    """``trace --to-address``: the packet, one line per node it may meet (and its hops), a summary."""
    head = (
        f"{flow.client.spelling} client"
        + (f" {flow.client_ip}" if flow.client_ip else "")
        + f" -> {flow.dst_ip}"
        + (f":{flow.port}" if flow.port else "")
        + " (an address of no Service)"
    )
    lines = [head]
    if environment:
        lines.append(f"  answered for {environment}")
    lines.append(f"  service CIDRs: {', '.join(service_cidrs) if service_cidrs else 'not given (--service-cidr)'}")
    for outcome in outcomes:
        lines.append("  " + outcome_line(outcome))
        if hops:
            lines.extend(f"      {hop}" for hop in outcome.hops)
    dropped = sum(o.drop_kind is DropKind.DROP for o in outcomes)
    lines.append(f"{len(outcomes)} outcome(s): {dropped} dropped, {len(outcomes) - dropped} routed on")
    return "\n".join(lines)


def _head(
    flow: Flow,
    allocated: Sequence[tuple[str, str]],
    addresses: frozenset[str],
    load_balancer: str | None,
    environment: str,
) -> list[str]:
    head = (
        f"{flow.client.spelling} client"
        + (f" {flow.client_ip}" if flow.client_ip else "")
        + f" -> {flow.service} via {flow.destination.spelling}"
        + (f" {flow.dst_ip}" if flow.dst_ip else "")
        + (f":{flow.port}" if flow.port else "")
    )
    lines = [mark_allocated(head, addresses)]
    if environment:
        lines.append(f"  answered for {environment}")
    if allocated:
        lines.append(f"  {ALLOCATED} (not in the manifests): " + ", ".join(f"{p} {v}" for p, v in allocated))
    if load_balancer:
        lines.append(f"  load balancer: {load_balancer}")
    return lines


def group_line(group: OutcomeGroup) -> str:
    """One line for outcomes alike but for their endpoint: the first few endpoints, then a count."""
    outcome = group.outcome
    if group.count == 1 or not outcome.delivered:  # not delivered: lost on the way to the endpoints named
        return outcome_line(outcome) + (f"  ({group.count} endpoints alike)" if group.count > 1 else "")
    where = f"at {outcome.node}" if outcome.node else "via load balancer"
    named = ", ".join(
        ip + (f" ({one_line(pod, VALUE_LIMIT)})" if pod else "") for ip, _, pod in group.rows(GROUP_SAMPLE)
    )
    more = group.count - GROUP_SAMPLE
    if not outcome.crosses_nodes:
        hop = f"each stays on {outcome.endpoint_node or 'an unknown node'}"
    elif (targets := group.target_nodes()) == 1:
        hop = f"each crosses to {outcome.endpoint_node or 'an unknown node'}"
    else:
        hop = f"each crosses to another node ({targets} nodes)"
    seen = f"pod sees {outcome.source_ip_seen}" + _source_note(outcome)
    reply = _reply_words(outcome)
    return (
        f"{where}: delivered to {group.count} endpoints: {named}"
        + (f" and {more} more" if more > 0 else "")
        + f"; {hop}; {seen}; {reply}  [{', '.join(outcome.rules)}]"
    )


def render_groups(
    flow: Flow,
    groups: Iterable[OutcomeGroup],
    *,
    hops: bool = False,
    allocated: Sequence[tuple[str, str]] = (),
    load_balancer: str | None = None,
    environment: str = "",
) -> str:
    """Like :func:`render`, one line per group of outcomes that differ only in their endpoint (what
    ``kverify trace`` prints when there are too many outcomes to list); hops are the first outcome's.
    ``groups`` is read once, each group dropped once written: its endpoints need not all be held."""
    addresses = frozenset(value for path, value in allocated if not path.endswith("odePort"))
    lines = _head(flow, allocated, addresses, load_balancer, environment)
    total = delivered = broken = lines_written = 0
    for group in groups:
        lines.append("  " + mark_allocated(group_line(group), addresses))
        if hops:
            if group.count > 1:
                lines.append(f"      hops of the first of the {group.count}:")
            lines.extend(f"      {mark_allocated(str(hop), addresses)}" for hop in group.outcome.hops)
        outcome = group.outcome
        total += group.count
        lines_written += 1
        if outcome.delivered:
            delivered += group.count
            if not outcome.reply_ok and outcome.health_check is None:
                broken += group.count
    summary = f"{total} outcome(s): {delivered} delivered, {total - delivered} not delivered"
    summary += f" ({broken} with a broken reply)" if broken else ""
    lines.append(summary + f"; {lines_written} line(s), one per group of outcomes alike but for the endpoint")
    return "\n".join(lines)


def is_reply(outcome: Outcome, index: int) -> bool:
    """Whether hop ``index`` of a delivered outcome carries the reply: every hop after the one that reaches
    the endpoint (behind a proxying load balancer the reply takes two: to the LB, then to the client)."""
    if not outcome.delivered:
        return False
    pods = {outcome.endpoint_pod, f"pod {outcome.endpoint_ip}"}
    reached = [i for i, hop in enumerate(outcome.hops) if hop.to in pods]
    return index > reached[-1] if reached else index == len(outcome.hops) - 1
