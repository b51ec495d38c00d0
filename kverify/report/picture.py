"""A counterexample as a picture (SVG): the client, the load balancer, each node as a box with the
Service's pods in it, and the packet's path as numbered arrows with the addresses of every hop
(source and destination as they are after each NAT), the drop marked where the packet dies.

Pure Python, no browser: the Markdown report writes one beside itself (``cx-<id>.svg``) and the
docs carry a generated example. The layout is a fixed grid (client and load balancer above, nodes
in a row below), so a picture of the same counterexample is the same file every time.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path
from xml.sax.saxutils import escape

import attrs

from kverify.check.findings import CheckRun
from kverify.model import ClientKind, Flow
from kverify.report.trace_text import is_reply, outcome_line
from kverify.results import Hop
from kverify.verdicts import Counterexample, Refuted

#: Nodes without a pod of the Service that are drawn one by one; the rest are summed up in one box.
MAX_EMPTY_NODES = 2

_FONT = "DejaVu Sans, Verdana, Arial, sans-serif"
_CHAR = 7.0  # average width of a 12px character, enough to size boxes without a font engine
_MARGIN = 20
_NODE_GAP = 36
_POD_H = 40
_TOP_Y = 70
_ROW_Y = 210
_PODS_AT = 76  # below a node's name and address, room for the arrow to its pod
_WRAP = 110  # characters of a legend line about the outcome
_RED = "#c62828"
_BLUE = "#1565c0"
_GREY = "#555"


@attrs.frozen
class _Box:
    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    def contains(self, other: _Box) -> bool:
        return self.x <= other.x and other.x + other.w <= self.x + self.w and self.y <= other.y <= self.y + self.h

    def edge_towards(self, x: float, y: float) -> tuple[float, float]:
        """Where the line from this box's centre to (x, y) leaves the box."""
        dx, dy = x - self.cx, y - self.cy
        if dx == 0 and dy == 0:
            return self.cx, self.cy
        scale = min(
            (self.w / 2) / abs(dx) if dx else math.inf,
            (self.h / 2) / abs(dy) if dy else math.inf,
        )
        return self.cx + dx * scale, self.cy + dy * scale


def _width(text: str, size: float = 12) -> float:
    return len(text) * _CHAR * size / 12


def _text(x: float, y: float, text: str, *, size: float = 12, anchor: str = "middle", **style: str) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in style.items())
    return f'<text x="{x:.0f}" y="{y:.0f}" font-size="{size:g}" text-anchor="{anchor}"{extra}>{escape(text)}</text>'


def _rect(box: _Box, **style: str | float) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in style.items())
    return f'<rect x="{box.x:.0f}" y="{box.y:.0f}" width="{box.w:.0f}" height="{box.h:.0f}"{extra}/>'


def _client_words(cx: Counterexample, first: Hop | None) -> tuple[str, str]:
    kind = cx.flow.client
    name = "external client" if kind is ClientKind.EXTERNAL else f"{kind.spelling} client"
    if first is not None and "@" in first.at:
        name += f" on {first.at.split('@', 1)[1]}"
    return name, first.src if first is not None else ""


def _nodes_shown(cx: Counterexample, on_path: set[str]) -> tuple[list[tuple[str, list[tuple[str, str]]]], int]:
    """(node, [(pod, ip), ...]) for the nodes drawn, and how many empty nodes are left out."""
    service = cx.cluster.service(cx.service_flow.service)
    pods: dict[str, list[tuple[str, str]]] = {n.name: [] for n in cx.cluster.nodes}
    for e in service.endpoints if service else ():
        if e.node_name in pods:
            pods[e.node_name].append((e.pod or f"pod {e.ip}", e.ip))
    shown, left_out, empty_drawn = [], 0, 0
    for node in cx.cluster.nodes:
        if pods[node.name] or node.name in on_path:
            shown.append((node.name, pods[node.name]))
        elif empty_drawn < MAX_EMPTY_NODES:
            shown.append((node.name, []))
            empty_drawn += 1
        else:
            left_out += 1
    return shown, left_out


def _place(at: str) -> str:
    """A hop's place as the picture names it: ``node-a (proxy)`` is node-a."""
    return at.removesuffix(" (proxy)")


def counterexample_svg(cx: Counterexample, *, title: str | None = None) -> str:
    """The counterexample as a standalone SVG document (UTF-8 text, no external references)."""
    hops = cx.outcome.hops
    first = hops[0] if hops else None
    legs = [h for h in hops if h.to != "(end)"]
    drop = next((h for h in hops if h.to == "(end)"), None)
    on_path = {_place(h.at) for h in hops} | {_place(h.to) for h in hops}
    client_name, client_ip = _client_words(cx, first)
    nodes, left_out = _nodes_shown(cx, on_path)
    boxes: dict[str, _Box] = {}
    node_of: dict[str, _Box] = {}  # a pod's node
    body: list[str] = []

    # The client and, when the packet goes through one, the load balancer.
    client_w = max(_width(client_name), _width(client_ip)) + 30
    boxes["client"] = client = _Box(_MARGIN, _TOP_Y, client_w, 52)
    body.append(_rect(client, rx=26, fill="#fff3e0", stroke="#ef6c00"))
    body.append(_text(client.cx, client.y + 22, client_name, font_weight="bold"))
    body.append(_text(client.cx, client.y + 40, client_ip, fill=_GREY))
    if any(h.to == "load-balancer" for h in hops):
        service = cx.cluster.service(cx.service_flow.service)
        profile = cx.cluster.load_balancer_for(service).spelling
        lb_ip = next(h.dst for h in hops if h.to == "load-balancer")
        lb_w = max(_width(f"load balancer ({profile})"), _width(lb_ip)) + 30
        boxes["load-balancer"] = lb = _Box(client.x + client.w + 120, _TOP_Y, lb_w, 52)
        body.append(_rect(lb, rx=6, fill="#ede7f6", stroke="#5e35b1"))
        body.append(_text(lb.cx, lb.y + 22, f"load balancer ({profile})", font_weight="bold"))
        body.append(_text(lb.cx, lb.y + 40, lb_ip, fill=_GREY))

    # The nodes in a row, each with the Service's pods in it.
    x: float = _MARGIN
    node_h = _PODS_AT + max(1, max((len(p) for _, p in nodes), default=1)) * (_POD_H + 8) + (44 if drop else 0)
    for name, pods in nodes:
        node = cx.cluster.node(name)
        address = node.primary_address if node and node.primary_address else ""
        words = [name, address] + [p.split("/", 1)[-1] for p, _ in pods] + [ip for _, ip in pods]
        w = max(170.0, max(_width(t) for t in words) + 40)
        boxes[name] = box = _Box(x, _ROW_Y, w, node_h)
        arrival = name == cx.outcome.node
        body.append(
            _rect(
                box, rx=8, fill="#eceff1", stroke="#37474f" if arrival else "#90a4ae", stroke_width=2 if arrival else 1
            )
        )
        body.append(_text(box.cx, box.y + 20, name + (" (arrival)" if arrival else ""), font_weight="bold"))
        body.append(_text(box.cx, box.y + 37, address, fill=_GREY))
        if not pods:
            body.append(_text(box.cx, box.y + _PODS_AT + 14, "no pod of the Service", fill=_GREY, font_style="italic"))
        for j, (pod, ip) in enumerate(pods):
            node_of[pod] = box
            boxes[pod] = p = _Box(box.x + 15, box.y + _PODS_AT + j * (_POD_H + 8), box.w - 30, _POD_H)
            body.append(_rect(p, rx=4, fill="#e8f5e9", stroke="#2e7d32"))
            body.append(_text(p.cx, p.y + 17, pod.split("/", 1)[-1], size=11))
            body.append(_text(p.cx, p.y + 32, ip, size=11, fill=_GREY))
        x += w + _NODE_GAP
    if left_out:
        text = f"{left_out} more node(s) without a pod of the Service"
        w = _width(text) + 30
        body.append(_rect(_Box(x, _ROW_Y, w, 50), rx=8, fill="none", stroke="#90a4ae", stroke_dasharray="4 3"))
        body.append(_text(x + w / 2, _ROW_Y + 30, text, fill=_GREY))
        x += w + _NODE_GAP

    # The path: one numbered arrow per hop (dashed for the reply), then the drop.
    arrows: list[str] = []
    labels: list[str] = []  # drawn over the curves, and the numbers over everything
    badges: list[str] = []
    taken: list[_Box] = []
    for n, hop in enumerate(legs, start=1):
        start = boxes.get("client" if hop.at == (first.at if first else "") else _place(hop.at))
        end = boxes.get("client" if n == len(legs) and cx.outcome.delivered else _place(hop.to))
        if start is None or end is None:
            continue
        if start is end:  # rewritten where it is (DNAT to a local pod): the number on the node
            badges.append(_badge(start.x + start.w - 14, start.y + 14, n))
            continue
        reply = is_reply(cx.outcome, n - 1)  # a delivered outcome has no (end) hop: legs are its hops
        curve, mx, my = _arrow(start, end, reply=reply, leave_from=node_of.get(_place(hop.at)))
        label, badge = _label(hop, n, mx, my, taken)
        arrows.append(curve)
        labels.append(label)
        badges.append(badge)
    if drop is not None:
        where = boxes.get(_place(drop.at))
        if where is not None:
            mx, my = where.cx, where.y + where.h - 44
            arrows.append(
                f'<path d="M{mx - 10:.0f},{my - 10:.0f} l20,20 M{mx - 10:.0f},{my + 10:.0f} l20,-20" '
                f'stroke="{_RED}" stroke-width="4" stroke-linecap="round"/>'
            )
            word = cx.outcome.drop_kind.spelling.upper() if cx.outcome.drop_kind else "NOT DELIVERED"
            arrows.append(_text(where.cx, where.y + where.h - 12, word, fill=_RED, font_weight="bold"))

    # The legend: every hop with its addresses and what rewrote them, then the outcome.
    y = _ROW_Y + node_h + 90
    legend: list[str] = []
    for n, hop in enumerate(legs, start=1):
        legend.append(_badge(_MARGIN + 10, y - 4, n))
        legend.append(_text(_MARGIN + 28, y, f"{hop.at} → {hop.to}:  src {hop.src}  dst {hop.dst}", anchor="start"))
        y += 18
        if hop.note:
            legend.append(_text(_MARGIN + 28, y, hop.note, anchor="start", size=11, fill=_GREY))
            y += 18
        y += 4
    if drop is not None:
        dropped = f"✗ at {drop.at}: {drop.note or 'dropped'}"
        legend.append(_text(_MARGIN + 28, y, dropped, anchor="start", fill=_RED, font_weight="bold"))
        y += 22
    for line in _outcome_lines(cx):
        legend.append(_text(_MARGIN, y + 6, line, anchor="start", size=11, fill=_GREY))
        y += 16
    y += 6

    heading = title or f"{cx.id}: {client_name} → {cx.service_flow.service} via {cx.service_flow.destination.spelling}"
    widest = max(_width(s, 12) for s in _legend_texts(legs, cx))
    width = max(x, client.x + client.w + 400, widest + 60, _width(heading, 15) + 40)
    height = y + _MARGIN
    return (
        "\n".join(
            [
                '<?xml version="1.0" encoding="UTF-8"?>',
                f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
                f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="{_FONT}" role="img">',
                f"<title>{escape(heading)}</title>",
                '<defs><marker id="head" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
                f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{_BLUE}"/></marker></defs>',
                '<rect width="100%" height="100%" fill="#ffffff"/>',
                _text(_MARGIN, 32, heading, size=15, anchor="start", font_weight="bold"),
                *body,
                *arrows,
                *labels,
                *badges,
                *legend,
                "</svg>",
            ]
        )
        + "\n"
    )


def _outcome_lines(cx: Counterexample) -> list[str]:
    """The outcome as ``kverify trace`` says it, the ids of the deciding rules on a line of their own,
    long lines wrapped: the picture stays as wide as its drawing."""
    text, _, rules = outcome_line(cx.outcome).partition("  [")
    lines = textwrap.wrap(text, _WRAP)
    if rules:
        lines += textwrap.wrap("rules: " + rules.rstrip("]"), _WRAP)
    return lines


def _legend_texts(legs: list[Hop], cx: Counterexample) -> list[str]:
    texts = [f"{h.at} → {h.to}:  src {h.src}  dst {h.dst}" for h in legs] + [h.note for h in legs]
    return [t for t in texts if t] + _outcome_lines(cx)


def _badge(x: float, y: float, n: int) -> str:
    return f'<circle cx="{x:.0f}" cy="{y:.0f}" r="9" fill="{_BLUE}"/>' + _text(
        x, y + 4, str(n), size=11, fill="#fff", font_weight="bold"
    )


def _arrow(start: _Box, end: _Box, *, reply: bool, leave_from: _Box | None = None) -> tuple[str, float, float]:
    """A curve from ``start`` to ``end``, and its middle (where its number goes).

    ``leave_from``: the node box around ``start`` (a pod answering): the arrow leaves through its top."""
    if start.contains(end):  # a node to one of its own pods: down from the node's title
        x1, y1 = end.cx - 30, start.y + 44
        x2, y2 = end.cx - 30, end.y
        mx, my = x1, (y1 + y2) / 2
        path = f"M{x1:.0f},{y1:.0f} L{x2:.0f},{y2:.0f}"
    elif start.y == end.y and start.h == end.h and start.y >= _ROW_Y:  # node to node: an arc under the row
        x1, x2, y1 = start.cx + 20, end.cx - 20, start.y + start.h
        cy = y1 + 70
        mx, my = (x1 + x2) / 2, y1 + 35
        path = f"M{x1:.0f},{y1:.0f} Q{mx:.0f},{cy:.0f} {x2:.0f},{y1:.0f}"
    else:
        if leave_from is not None:  # a pod answers: out through its node's top, into the client's side
            x1, y1 = start.cx + 30, leave_from.y
            x2, y2 = end.x + end.w, end.cy
        else:
            x1, y1 = start.edge_towards(end.cx, end.cy)
            x2, y2 = end.edge_towards(x1, y1)
        length = math.hypot(x2 - x1, y2 - y1) or 1
        bend = 25 * (-1 if reply else 1)
        if abs(y2 - y1) < 5:  # along the top row (client to load balancer): arc above it
            bend = -80 if x2 > x1 else 80
        ox, oy = -(y2 - y1) / length * bend, (x2 - x1) / length * bend
        cx, cy = (x1 + x2) / 2 + ox, (y1 + y2) / 2 + oy
        mx, my = 0.25 * x1 + 0.5 * cx + 0.25 * x2, 0.25 * y1 + 0.5 * cy + 0.25 * y2
        path = f"M{x1:.0f},{y1:.0f} Q{cx:.0f},{cy:.0f} {x2:.0f},{y2:.0f}"
    dash = ' stroke-dasharray="6 4"' if reply else ""
    return f'<path d="{path}" fill="none" stroke="{_BLUE}" stroke-width="2"{dash} marker-end="url(#head)"/>', mx, my


def _label(hop: Hop, n: int, mx: float, my: float, taken: list[_Box]) -> tuple[str, str]:
    """The hop's number at (mx, my) with its addresses beside it, moved down past the labels already
    placed (``taken``, which it joins): the label, the number."""
    text = f"{hop.src} → {hop.dst}"
    box = _Box(mx - 10, my - 9, _width(text, 11) + 30, 18)
    while any(_overlap(box, other) for other in taken):
        box = attrs.evolve(box, y=box.y + 19)
    taken.append(box)
    my = box.y + 9
    label = _rect(_Box(mx + 12, my - 8, box.w - 22, 16), rx=3, fill="#ffffff", fill_opacity=0.85)
    return label + _text(mx + 16, my + 4, text, size=11, anchor="start", fill=_BLUE), _badge(mx, my, n)


def _overlap(a: _Box, b: _Box) -> bool:
    return a.x < b.x + b.w and b.x < a.x + a.w and a.y < b.y + b.h and b.y < a.y + a.h


def write_pictures(run: CheckRun, folder: Path) -> dict[str, Path]:
    """``folder/cx-<id>.svg`` for every counterexample of ``run``; the paths by counterexample id."""
    written: dict[str, Path] = {}
    for r in run.results:
        # A packet to an address of no Service has no Service path to draw: its report shows the hops.
        if (
            isinstance(r.verdict, Refuted)
            and r.verdict.counterexample.id not in written
            and isinstance(r.verdict.counterexample.flow, Flow)
        ):
            cx = r.verdict.counterexample
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{cx.id}.svg"
            path.write_text(counterexample_svg(cx, title=f"{cx.id}: {r.claim} ({r.service})"), encoding="utf-8")
            written[cx.id] = path
    return written
