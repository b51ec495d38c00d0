"""Generate the reference pages of the docs from the code: ``python -m kverify.docs_gen``.

Writes ``docs/reference/cli.md`` (from the argparse parser), ``docs/reference/claims.md`` (every claim
of the library, proved or refuted on each dataplane: takes a few seconds) and ``docs/semantics.md``
(the rule table), and ``docs/images/tutorial-counterexample.svg`` (the tutorial's counterexample as
the Markdown report draws it). ``--check`` writes nothing and exits 1 naming the stale files; a test runs it so
that the committed pages never drift from the code.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kverify.verdicts import Counterexample

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
_REGENERATE = "python -m kverify.docs_gen"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


# -- CLI --------------------------------------------------------------------------------------------


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "." if text else ""


def _argument(action: argparse.Action) -> str:
    if action.option_strings:
        name = ", ".join(f"`{o}`" for o in action.option_strings)
        if action.nargs != 0 and not (action.choices and action.metavar is None):
            name += f" `{action.metavar or action.dest.upper()}`"
        return name
    return f"`{action.metavar or action.dest}`" + ("..." if action.nargs in ("+", "*") else "")


#: The CLI's own argparse types, by function name, as the reference names their values.
_TYPES = {
    "_port": "port number",
    "_cidr": "CIDR",
    "_bool": "`true` or `false`",
    "_megabytes": "size in MB",
    "_positive_int": "whole number, at least 1",
}


def _values(action: argparse.Action) -> str:
    if action.choices:
        return ", ".join(f"`{c}`" for c in action.choices)
    if action.nargs == 0:
        return "flag"
    if action.type is int:
        return "integer"
    if action.type is float:
        return "number"
    return _TYPES.get(getattr(action.type, "__name__", ""), "text")


def _optional(action: argparse.Action) -> bool:
    """argparse marks a ``nargs="*"`` positional without a default as required; it is not."""
    return not action.required or (not action.option_strings and action.nargs in ("*", "?"))


def _default(action: argparse.Action) -> str:
    if not _optional(action):
        return "required"
    if action.nargs == 0 or action.default in (None, argparse.SUPPRESS, [], ()):
        return "optional"
    return f"optional, `{action.default}`"


def _subcommands(parser: argparse.ArgumentParser) -> tuple[dict[str, argparse.ArgumentParser], dict[str, str]]:
    for action in parser._actions:  # argparse offers no public way to walk subcommands
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            return dict(action.choices), helps
    return {}, {}


def render_cli() -> str:
    """The CLI reference, one table per subcommand, from :func:`kverify.cli.build_parser`."""
    from kverify.cli import EXIT_FAILED, EXIT_INPUT, EXIT_NOTHING_CHECKED, EXIT_OK, EXIT_UNKNOWN, build_parser

    parser = build_parser()
    commands, helps = _subcommands(parser)
    lines = [
        "# Command line reference",
        "",
        f"Generated from `kverify/cli.py` by `{_REGENERATE}`; a test fails when this page is stale.",
        "",
        "```",
        "kverify {" + ",".join(commands) + "} ...",
        "```",
        "",
        "Exit codes:",
        "",
        "| code | meaning |",
        "|---|---|",
        f"| {EXIT_OK} | success (`prove`: every verdict is the one the library expects) |",
        f"| {EXIT_FAILED} | a verdict differs from the library's expectation |",
        f"| {EXIT_INPUT} | bad input or usage: one line per problem, `FILE:LINE: Kind ns/name: field: message` |",
        f"| {EXIT_UNKNOWN} | a verdict is unknown (unknown never passes; for `check`, unless the spec claim "
        "says `allowUnknown: true`); `trace`: the flow is not modelled (`not modelled: ...`, the reason) |",
        f"| {EXIT_NOTHING_CHECKED} | `check`: nothing was checked (no spec claim, and no built-in check applied to any "
        "Service), unless `--allow-nothing-checked` |",
    ]
    for name, sub in commands.items():
        lines += ["", f"## `kverify {name}`", "", _sentence(helps.get(name, "")), ""]
        lines += ["| argument | values | default | description |", "|---|---|---|---|"]
        for action in sub._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            help_text = action.help if action.help not in (None, argparse.SUPPRESS) else ""
            cells = [_argument(action), _values(action), _default(action), help_text or ""]
            lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


# -- claims -----------------------------------------------------------------------------------------


def render_claims() -> str:
    """Every claim of the library with its verdict on each dataplane (runs the prover)."""
    from kverify.model import Dataplane
    from kverify.prove.claims import ALL_CLAIMS
    from kverify.prove.run import ASSUMPTIONS, prove_claim, scope
    from kverify.symbolic.prove import DEFAULT_MAX_ENDPOINTS, DEFAULT_MAX_NODES
    from kverify.verdicts import Proved, Refuted

    planes = list(Dataplane)
    lines = [
        "# The claim library",
        "",
        f"Generated by `{_REGENERATE}`, which proves every claim of `kverify/prove/claims.py` on every dataplane",
        "it is stated for; a test fails when this page is stale. Run one yourself with",
        "`kverify prove CLAIM --dataplane DATAPLANE`.",
        "",
        f"**proved** means: for {scope(DEFAULT_MAX_NODES, DEFAULT_MAX_ENDPOINTS)}; assuming "
        + "; ".join(ASSUMPTIONS)
        + ". **refuted** gives the size of the minimal counterexample (nodes, endpoints), replayed through",
        "the executable model. A blank cell: the claim is not stated for that dataplane. Claims are proved with",
        "the `generic` CNI profile unless they name theirs.",
        "See [the explanation](../explanation.md#what-a-proof-covers) for what the bound means.",
        "",
        "| claim | statement | " + " | ".join(p.spelling for p in planes) + " |",
        "|---|---|" + "---|" * len(planes),
    ]
    notes = []
    for claim in ALL_CLAIMS:
        on_cni = getattr(claim, "cni", None)
        statement = claim.statement + (f" (proved with `--cni {on_cni.spelling}`)" if on_cni else "")
        cells = [f"`{claim.id}`", statement]
        for plane in planes:
            if plane not in claim.expected:
                cells.append("")
                continue
            verdict = prove_claim(claim, plane)
            if isinstance(verdict, Proved):
                text = "proved"
            elif isinstance(verdict, Refuted):
                cx = verdict.counterexample
                text = f"refuted ({cx.nodes}, {cx.endpoints})"
            else:
                text = "**unknown**"
            if (verdict.verdict == "proved") != (claim.expected[plane] == "holds"):
                text += " (**unexpected**)"
            cells.append(text)
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
        notes.append(f"- `{claim.id}`: {claim.why}")
    lines += ["", "## Why each verdict is expected", "", *notes]
    return "\n".join(lines) + "\n"


def render_semantics() -> str:
    from kverify.semantics.docs import render

    return render()


def heading_id(value: str, separator: str) -> str:
    """The docs site's heading ids (mkdocs.yml's ``toc.slugify``), spelled as GitHub spells them, so
    that a link to a heading works on both (``CNI profiles (`--cni`)`` -> ``cni-profiles---cni``), with
    a ``step-`` before one that starts with a digit (``0. Install`` -> ``step-0-install``), which is no
    CSS selector: the theme's scroll spy would throw on it."""
    slug = re.sub(r"[^\w\- ]", "", value.strip().lower()).replace(" ", separator)
    return f"step{separator}{slug}" if slug[:1].isdigit() else slug


#: The tutorial's first counterexample (section 3): the claim and the dataplane that refute it.
TUTORIAL_COUNTEREXAMPLE = ("etp-local-external-stays-local", "ipvs")


def tutorial_counterexample() -> Counterexample:
    """The counterexample the tutorial's ``kverify prove ... --dataplane ipvs`` prints."""
    from kverify.model import Dataplane
    from kverify.prove.claims import find_claim
    from kverify.prove.run import prove_claim
    from kverify.verdicts import Refuted

    claim, plane = TUTORIAL_COUNTEREXAMPLE
    verdict = prove_claim(find_claim(claim), Dataplane.parse(plane))
    if not isinstance(verdict, Refuted):
        raise AssertionError(f"{claim} on {plane} is no longer refuted: the tutorial's section 3 needs rewriting")
    return verdict.counterexample


def render_tutorial_picture() -> str:
    """The tutorial's counterexample as the Markdown report draws it (an example of the picture)."""
    from kverify.report.picture import counterexample_svg

    cx = tutorial_counterexample()
    claim, plane = TUTORIAL_COUNTEREXAMPLE
    return counterexample_svg(cx, title=f"{cx.id}: {claim} ({plane})")


PAGES: dict[str, Callable[[], str]] = {
    "images/tutorial-counterexample.svg": render_tutorial_picture,
    "reference/cli.md": render_cli,
    "reference/claims.md": render_claims,
    "semantics.md": render_semantics,
}


def stale(docs: Path = DOCS) -> list[str]:
    """The generated pages whose committed text differs from what the code generates now."""
    return [
        name for name, render in PAGES.items() if not (docs / name).is_file() or (docs / name).read_text() != render()
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kverify.docs_gen", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a page is stale")
    args = parser.parse_args(argv)
    if args.check:
        names = stale()
        for name in names:
            print(f"docs/{name} is stale: run {_REGENERATE}", file=sys.stderr)
        return 1 if names else 0
    for name, render in PAGES.items():
        path = DOCS / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render())
        print(f"wrote docs/{name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
