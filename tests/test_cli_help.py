"""Every option of every subcommand says what it is for, and the CLI reference says which arguments
are optional (issue 12: ``CLAIM...`` and ``FILE...`` were marked required)."""

from __future__ import annotations

import argparse

import pytest

from kverify import docs_gen
from kverify.cli import build_parser

COMMANDS, _ = docs_gen._subcommands(build_parser())


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_argument_has_help_text(name: str) -> None:
    missing = [
        a.option_strings[0] if a.option_strings else a.dest
        for a in COMMANDS[name]._actions
        if not isinstance(a, argparse._HelpAction) and not (a.help or "").strip()
    ]
    assert missing == [], f"kverify {name}: no help text for {missing}"


@pytest.mark.parametrize(
    ("row", "presence"),
    [
        pytest.param("| `CLAIM`... |", "optional", id="prove's claim ids are optional"),
        pytest.param("| `FILE`... |", "optional", id="check's files are optional"),
        pytest.param("| `MANIFEST`... |", "required", id="trace's manifests are required"),
        pytest.param("| `--from` |", "required", id="trace's --from is required"),
        # --service or --to-address: argparse cannot say "one of", so the help text does (tests/test_service_cidr.py).
        pytest.param("| `--service` `NAMESPACE/NAME` |", "optional", id="trace's --service gives way to --to-address"),
        pytest.param("| `--allow-nothing-checked` |", "optional", id="a flag is optional"),
    ],
)
def test_the_cli_reference_says_what_is_optional(row: str, presence: str) -> None:
    (line,) = [line for line in docs_gen.render_cli().splitlines() if line.startswith(row)]
    assert line.split(" | ")[2].split(",")[0] == presence, line
