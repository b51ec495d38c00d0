"""``kverify.cli.build_parser(command)`` gives only the named subcommand its arguments (start-up time):
for that subcommand it must parse and help exactly as the whole parser does."""

from __future__ import annotations

import pytest

from kverify.cli import build_parser

LINES = {
    "trace": "trace a.yaml --service shop/web --to node-port --from external --node n1 --format json --hops",
    "prove": "prove etp-local-preserves-client-ip --dataplane ipvs --max-nodes 3 --format json",
    "check": "check a.yaml b.yaml --format sarif --dataplane nftables --needs-client-ip shop/web -v",
    "diff": "diff old.yaml new.yaml --format markdown --no-hops --load-balancer metallb-l2",
}


@pytest.mark.parametrize("command", list(LINES))
def test_a_subcommand_parses_and_helps_as_with_every_subcommand_built(command: str) -> None:
    words = LINES[command].split()
    assert vars(build_parser(command).parse_args(words)) == vars(build_parser().parse_args(words))
    only, whole = build_parser(command), build_parser()
    assert only.format_help() == whole.format_help()  # the subcommands are all listed, with their help
    helps = [p._subparsers._group_actions[0].choices[command].format_help() for p in (only, whole)]  # type: ignore[union-attr]
    assert helps[0] == helps[1]


def test_the_other_subcommands_are_left_empty() -> None:
    """What makes it cheaper: check's arguments are not built for a trace."""
    check = build_parser("trace")._subparsers._group_actions[0].choices["check"]  # type: ignore[union-attr]
    assert "--fixes" not in check.format_help()
    assert "--fixes" in build_parser()._subparsers._group_actions[0].choices["check"].format_help()  # type: ignore[union-attr]
