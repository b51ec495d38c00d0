"""A design-time counterexample's placement as a Mermaid flowchart: the client, the load balancer,
each node as a box with the Service's pods in it, and the packet's way to its end.

Nodes without a pod of the Service are drawn one by one up to a few, then summed up in one box, so a
placement on 1,000 nodes still reads at a glance.
"""

from __future__ import annotations

import re

from kverify.model import ClientKind
from kverify.verdicts import Counterexample

MAX_EMPTY_NODES = 3
_UNSAFE = re.compile(r"[;#<>\"\[\]{}()|]")


def _text(value: str) -> str:
    return _UNSAFE.sub(" ", value).strip()


def placement_diagram(cx: Counterexample) -> str:
    """``flowchart LR``: client -> (load balancer) -> arrival node -> pod, or the drop at the node."""
    service = next((s for s in cx.cluster.services if s.key == cx.service_flow.service), None)
    ip_of = {e.pod: e.ip for e in service.endpoints} if service else {}
    outcome = cx.outcome
    arrival = outcome.node
    lines = ["flowchart LR"]
    client = "external client" if cx.flow.client is ClientKind.EXTERNAL else f"{cx.flow.client.spelling} client"
    lines.append(f'    client(["{_text(client)}"])')
    entry = "client"
    if cx.flow.client is ClientKind.EXTERNAL and cx.service_flow.destination.spelling == "load-balancer":
        profile = cx.cluster.load_balancer_for(service)
        lines.append(f'    lb{{{{"load balancer: {_text(profile.spelling)}"}}}}')
        lines.append("    client --> lb")
        entry = "lb"
    node_ids: dict[str, str] = {}
    pod_ids: dict[str, str] = {}
    empty = [node for node, pods in cx.placement if not pods and node != arrival]
    shown_empty = set(empty[:MAX_EMPTY_NODES])
    for i, (node, pods) in enumerate(cx.placement):
        if not pods and node != arrival and node not in shown_empty:
            continue
        nid = f"N{i}"
        node_ids[node] = nid
        title = f"{node}, arrival node" if node == arrival else node
        lines.append(f'    subgraph {nid}["{_text(title)}"]')
        if pods:
            for j, pod in enumerate(pods):
                pid = f"{nid}P{j}"
                pod_ids[ip_of.get(pod, "")] = pid
                name = pod.split("/", 1)[-1]
                lines.append(f'        {pid}["{_text(name)} {_text(ip_of.get(pod, ""))}"]')
        else:
            lines.append(f'        {nid}E["no pod of the Service"]')
        lines.append("    end")
    if len(empty) > len(shown_empty):
        lines.append(f'    more["{len(empty) - len(shown_empty)} more node(s) without a pod of the Service"]')
    if arrival in node_ids:
        lines.append(f"    {entry} --> {node_ids[arrival]}")
    # The other nodes in the same column as the arrival node (an invisible link ranks them so), not
    # stacked apart from the packet's way.
    lines += [f"    {entry} ~~~ {nid}" for node, nid in node_ids.items() if node != arrival]
    if len(empty) > len(shown_empty):
        lines.append(f"    {entry} ~~~ more")
    if arrival in node_ids:
        if outcome.delivered and outcome.endpoint_ip in pod_ids:
            seen = f"pod sees {outcome.source_ip_seen}" if outcome.source_ip_seen else "delivered"
            lines.append(f'    {node_ids[arrival]} -- "{_text(seen)}" --> {pod_ids[outcome.endpoint_ip or ""]}')
        elif not outcome.delivered:
            word = outcome.drop_kind.spelling if outcome.drop_kind else "lost"
            lines.append(f'    drop(["{_text(word.upper())}"])')
            lines.append(f"    {node_ids[arrival]} --x drop")
    return "\n".join(lines)


def placement_summary(cx: Counterexample) -> str:
    """``node-1: web-0, web-1; node-2: none`` (pod names without their namespace)."""
    parts = []
    for node, pods in cx.placement:
        names = ", ".join(p.split("/", 1)[-1] for p in pods) or "no pod of the Service"
        parts.append(f"{node}: {names}")
    if len(parts) > 8:
        with_pods = [p for p, (_, pods) in zip(parts, cx.placement, strict=True) if pods]
        return "; ".join(with_pods) + f"; {len(parts) - len(with_pods)} node(s) without a pod of the Service"
    return "; ".join(parts)
