"""Generate ``docs/semantics.md`` from the rule table: ``python -m kverify.semantics.docs > docs/semantics.md``."""

from __future__ import annotations

from kverify.semantics import load_rules
from kverify.semantics.registry import RULES

HEADER = """# Routing semantics: the rule table

Generated from `kverify/semantics/` by `python -m kverify.semantics.docs`; a test fails when this file
is stale. Each rule is written once, against the `Ops` algebra, and interpreted twice: by the
executable model (`kverify.concrete`, Python values) and by the Z3 encoding (`kverify.symbolic`,
terms). *Classification* rules read concrete addresses (CIDRs, which IP belongs to whom); the
executable model applies them, and the encoding abstracts each as a free input, named in the last
column, that it quantifies over.

Sources are the upstream code and tests (`kubernetes/kubernetes` unless another repository is
named), KEPs and vendor documentation; "since" is the first version the rule holds from. Where
kverify departs from a reference note, the research files in `docs/research/` record what was read
and at which version.

| id | rule | source | since | dataplanes | kind |
|---|---|---|---|---|---|
"""


def render() -> str:
    load_rules()
    from kverify.symbolic.universe import ABSTRACTS

    rows = []
    for rule in sorted(RULES.values(), key=lambda r: (r.kind != "decide", r.id)):
        kind = "decide" if rule.kind == "decide" else f"classify (encoding: `{ABSTRACTS.get(rule.id, '?')}`)"
        cells = [f"`{rule.id}`", rule.title, rule.source, rule.since, rule.dataplanes, kind]
        rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return HEADER + "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(render(), end="")
