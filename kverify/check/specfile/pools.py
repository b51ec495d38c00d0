"""Node pools, as a spec's ``nodes:`` list or the command line's ``--node-pool`` describe them.

A pool is ``count`` identical nodes (``count: 5``, or a range ``count: 3-5`` the solver may pick from),
with labels, a zone (the ``topology.kubernetes.io/zone`` label) and taints.
"""

from __future__ import annotations

import re
from typing import Any

from kverify.errors import InputError, Problem
from kverify.load.fields import Ctx, Path, invalid
from kverify.model.workload import NodePool, Taint

POOL_FIELDS = ("pool", "count", "zone", "labels", "taints")
TAINT_FIELDS = ("key", "value", "effect")
EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
#: More slots than this make the placement formula large; a review rarely needs them.
MAX_POOL_NODES = 5000
_COUNT = re.compile(r"^(\d+)(?:-(\d+))?$")


def parse_count(text: str) -> tuple[int, int] | None:
    """``"5"`` -> (5, 5); ``"3-5"`` -> (3, 5); anything else -> None."""
    m = _COUNT.match(text.strip())
    if not m:
        return None
    low = int(m.group(1))
    high = int(m.group(2)) if m.group(2) else low
    return (low, high) if high >= low else None


def pools_from(ctx: Ctx, raw: Any, path: Path) -> tuple[NodePool, ...]:
    """The ``nodes:`` list of a spec; problems are recorded in ``ctx``."""
    if type(raw) is not list:
        ctx.error(path, invalid(raw, "must be a list of node pools"))
        return ()
    pools: list[NodePool] = []
    names: set[str] = set()
    total = 0
    for i, entry in enumerate(raw):
        p: Path = (*path, i)
        if type(entry) is not dict:
            ctx.error(p, invalid(entry, "must be a mapping"))
            continue
        from kverify.check.specfile.loader import known_fields

        known_fields(ctx, entry, p, POOL_FIELDS)
        name = ctx.string(entry, "pool", p, required=True)
        if name is not None and name in names:
            ctx.error((*p, "pool"), f'Duplicate value: "{name}"')
        names.add(name or "")
        count = entry.get("count")
        bounds = parse_count(str(count)) if type(count) in (int, str) else None
        if count is None:
            ctx.error((*p, "count"), "Required value: a number of nodes, or a range such as 3-5")
        elif bounds is None:
            ctx.error((*p, "count"), invalid(count, "must be a number of nodes or a range such as 3-5"))
        zone = ctx.string(entry, "zone", p)
        labels = ctx.mapping(entry, "labels", p)
        pairs = []
        for key, value in labels.items():
            if type(key) is not str or type(value) is not str:
                ctx.error((*p, "labels", str(key)), invalid(value, "labels are strings"))
            else:
                pairs.append((key, value))
        taints = []
        for j, t in enumerate(ctx.list_of(entry, "taints", p)):
            tp: Path = (*p, "taints", j)
            if type(t) is not dict:
                ctx.error(tp, invalid(t, "must be a mapping"))
                continue
            known_fields(ctx, t, tp, TAINT_FIELDS)
            taint_key = ctx.string(t, "key", tp, required=True)
            taint_value = ctx.string(t, "value", tp) or ""
            effect = ctx.string(t, "effect", tp, required=True)
            if effect is not None and effect not in EFFECTS:
                ctx.error(
                    (*tp, "effect"),
                    f'Unsupported value: "{effect}": supported values: ' + ", ".join(f'"{e}"' for e in EFFECTS),
                )
            elif taint_key is not None and effect is not None:
                taints.append(Taint(key=taint_key, value=taint_value, effect=effect))
        if bounds is not None:
            total += bounds[1]
            if total > MAX_POOL_NODES:
                ctx.error((*p, "count"), f"Invalid value: {count}: at most {MAX_POOL_NODES} nodes in all pools")
                continue
        if name and bounds is not None:
            pools.append(
                NodePool(name=name, min_count=bounds[0], max_count=bounds[1], labels=pairs, zone=zone, taints=taints)
            )
    return tuple(pools)


def parse_node_pool(text: str) -> NodePool:
    """``--node-pool NAME=COUNT[,zone=Z][,label=K=V][,taint=K=V:EFFECT]``; raises InputError."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    where = "--node-pool"
    if not parts or "=" not in parts[0]:
        raise InputError(
            Problem(invalid(text, "must be NAME=COUNT[,zone=Z][,label=K=V][,taint=K=V:EFFECT]"), field=where)
        )
    name, count = parts[0].split("=", 1)
    bounds = parse_count(count)
    if not name or bounds is None:
        raise InputError(Problem(invalid(parts[0], "must be NAME=COUNT or NAME=MIN-MAX"), field=where))
    zone, labels, taints = None, [], []
    for part in parts[1:]:
        key, _, value = part.partition("=")
        if key == "zone" and value:
            zone = value
        elif key == "label" and "=" in value:
            labels.append(tuple(value.split("=", 1)))
        elif key == "taint" and ":" in value:
            kv, _, effect = value.rpartition(":")
            tkey, _, tval = kv.partition("=")
            if effect not in EFFECTS or not tkey:
                raise InputError(Problem(invalid(part, "a taint is KEY[=VALUE]:EFFECT"), field=where))
            taints.append(Taint(key=tkey, value=tval, effect=effect))
        else:
            raise InputError(Problem(invalid(part, "supported: zone=Z, label=K=V, taint=K=V:EFFECT"), field=where))
    if bounds[1] > MAX_POOL_NODES:
        raise InputError(Problem(invalid(count, f"at most {MAX_POOL_NODES} nodes"), field=where))
    return NodePool(name=name, min_count=bounds[0], max_count=bounds[1], labels=labels, zone=zone, taints=taints)
