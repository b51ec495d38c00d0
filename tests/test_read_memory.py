"""Reading an input takes memory for what it holds, not for the input limit (512 MB by default)."""

from __future__ import annotations

import io
import tracemalloc
from pathlib import Path
from random import Random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kverify.errors import Problem
from kverify.load import prefetch, sources


def test_a_small_file_is_read_without_allocating_the_input_limit(tmp_path: Path) -> None:
    small = tmp_path / "svc.yaml"
    small.write_text("kind: Service\n")
    problems: list[Problem] = []
    tracemalloc.start()
    try:
        raw = sources.read_bytes(str(small), problems)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert raw == b"kind: Service\n" and not problems
    # One read(limit + 1) allocated the whole 512 MB limit first; under `ulimit -v 300000` a
    # 14-byte file then failed with a MemoryError traceback.
    assert peak < 4 << 20, peak


class _Recording(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.asked: list[int] = []

    def read(self, size: int | None = -1) -> bytes:
        self.asked.append(-1 if size is None else size)
        return super().read(size)


@given(length=st.integers(0, 3 << 20), said=st.integers(0, 3 << 20), most=st.integers(1, 4 << 20))
def test_reading_up_to_a_limit_returns_the_prefix_and_asks_for_little(length: int, said: int, most: int) -> None:
    """Whatever size the file claimed (a file may grow or shrink after fstat; /proc files say 0), the
    result is the first ``most`` bytes, and no read asks for more than the size said or one block."""
    data = bytes(range(256)) * (length // 256) + bytes(length % 256)
    stream = _Recording(data)
    got = prefetch.read_up_to(stream, most, said + 1)
    assert got == data[:most]
    assert max(stream.asked) <= max(said + 1, prefetch.BLOCK)


def test_a_prefetched_file_reads_as_the_loader_reads_it(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The bytes a prefetch read are the file's, taken once; a later read of the same file reads it again."""
    monkeypatch.setattr(prefetch, "PREFETCH_MIN_BYTES", 10)
    big = tmp_path / "snapshot.json"
    big.write_bytes(b'{"kind": "List", "items": []}\n')
    prefetch.prefetch(str(big), sources.max_input_bytes.get())
    prefetch._prefetched[str(big)][0].join()
    big.write_bytes(b"changed after the prefetch\n")  # what the loader gets is what the prefetch read
    problems: list[Problem] = []
    assert sources.read_bytes(str(big), problems) == b'{"kind": "List", "items": []}\n' and not problems
    assert not prefetch._prefetched
    assert sources.read_bytes(str(big), problems) == b"changed after the prefetch\n"


def test_a_failed_prefetch_or_a_lower_limit_since_reads_again_and_reports(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A prefetch that failed hands over nothing: the loader's own read meets the problem and says it."""
    monkeypatch.setattr(prefetch, "PREFETCH_MIN_BYTES", 10)
    big = tmp_path / "snapshot.json"
    big.write_bytes(b"x" * 100)

    def refuse(*_: object) -> bytes:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(prefetch, "read_up_to", refuse)
    monkeypatch.setattr(sources, "read_up_to", refuse)
    prefetch.prefetch(str(big), sources.max_input_bytes.get())
    problems: list[Problem] = []
    assert sources.read_bytes(str(big), problems) is None
    assert [str(p) for p in problems] == [f"{big}: Input/output error"]
    monkeypatch.undo()
    monkeypatch.setattr(prefetch, "PREFETCH_MIN_BYTES", 10)
    prefetch.prefetch(str(big), sources.max_input_bytes.get())  # read under the default limit
    token = sources.max_input_bytes.set(50)  # the command then lowers it below the size
    try:
        problems = []
        assert sources.read_bytes(str(big), problems) is None
        assert "larger than the input limit" in str(problems[0])
    finally:
        sources.max_input_bytes.reset(token)


def test_no_prefetch_for_what_is_not_a_big_regular_file_within_the_limit(tmp_path: Path) -> None:
    small = tmp_path / "svc.yaml"
    small.write_text("kind: Service\n")
    big = tmp_path / "big.json"
    big.write_bytes(b" " * prefetch.PREFETCH_MIN_BYTES)
    for path in (str(small), str(tmp_path), str(tmp_path / "missing.json"), "bad\x00name"):
        prefetch.prefetch(path, prefetch.DEFAULT_MAX_INPUT_BYTES)
    prefetch.prefetch(str(big), prefetch.PREFETCH_MIN_BYTES - 1)
    assert not prefetch._prefetched


def _parsed_input(words: list[str]) -> tuple[str, int] | None:
    """The first input and the input limit, as the command's own parser reads ``words``."""
    from kverify.cli import build_parser

    try:
        args = build_parser(words[0]).parse_args(words)
    except SystemExit:
        return None
    paths = getattr(args, "paths", None) or getattr(args, "manifests", None)
    return (paths[0], args.max_input_size) if paths else None


def _options(command: str) -> tuple[frozenset[str], frozenset[str]]:
    """The option strings of ``kverify COMMAND`` that take a value, and those that take none."""
    import argparse

    from kverify.cli import build_parser

    (subparsers,) = (a for a in build_parser(command)._actions if isinstance(a, argparse._SubParsersAction))
    actions = subparsers.choices[command]._actions
    return (
        frozenset(s for a in actions for s in a.option_strings if a.nargs != 0),
        frozenset(s for a in actions for s in a.option_strings if a.nargs == 0),
    )


@pytest.mark.parametrize("command", ["check", "trace"])
def test_the_scan_of_the_words_knows_every_option_of_check_and_trace(command: str) -> None:
    assert _options(command) == (prefetch.VALUE_OPTIONS[command], prefetch.FLAG_OPTIONS[command])


@pytest.mark.parametrize(
    ("words", "found"),
    [
        (["check", "a.json"], ("a.json", prefetch.DEFAULT_MAX_INPUT_BYTES)),
        (["check", "--output", "report.json", "--format", "json", "a.json", "b.yaml"], ("a.json", 512 * 10**6)),
        (["check", "-v", "-o", "x", "a.json", "--max-input-size", "2000"], ("a.json", 2 * 10**9)),
        (["check", "--max-input-size=0.5", "a.json"], ("a.json", 500_000)),
        (
            ["trace", "--service", "a/b", "--to", "node-port", "--from", "external", "--", "-odd.json"],
            ("-odd.json", 512 * 10**6),
        ),
        (["check", "-", "a.json"], ("-", 512 * 10**6)),
        (["check", "--form", "json", "a.json"], None),  # an abbreviation: the parser decides
        (["check", "-vo", "x", "a.json"], None),  # short options run together
        (["check", "-oreport.json", "a.json"], None),
        (["check", "--max-input-size", "lots", "a.json"], None),
        (["check", "--verbose"], None),
        (["prove", "a.json"], None),
        ([], None),
    ],
)
def test_the_first_input_is_read_from_the_words_as_the_parser_reads_it(
    words: list[str], found: tuple[str, int] | None
) -> None:
    assert prefetch.command_input(words) == found
    if found is not None:
        assert _parsed_input(words) == found


_WORDS = st.sampled_from(
    ["a.json", "b.yaml", "-", "--", "--format", "json", "-o", "-n", "--max-input-size", "700", "--max-input-size=2",
     "-v", "--verbose", "--node", "--form", "-vo", "x"]
)  # fmt: skip
#: What ``kverify trace`` requires, a pair of words each.
_TRACE_REQUIRES = [["--service", "a/b"], ["--to", "node-port"], ["--from", "external"]]


@given(
    command=st.sampled_from(["check", "trace"]),
    chunks=st.lists(st.lists(_WORDS, min_size=1, max_size=2), max_size=5),
    order=st.randoms(use_true_random=False),
)
def test_what_the_scan_finds_is_what_the_parser_finds(command: str, chunks: list[list[str]], order: Random) -> None:
    """Any command line the parser takes: the scan finds nothing, or the parser's first input and limit."""
    if command == "trace":
        chunks = chunks + _TRACE_REQUIRES
        order.shuffle(chunks)
    words = [command, *(word for chunk in chunks for word in chunk)]
    found, parsed = prefetch.command_input(words), _parsed_input(words)
    if found is not None and parsed is not None:
        assert found == parsed


def test_the_console_script_begins_the_read_before_it_imports_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kverify import cli, launch

    monkeypatch.setattr(prefetch, "PREFETCH_MIN_BYTES", 1)
    snapshot = tmp_path / "snapshot.json"
    snapshot.write_text((Path(__file__).parent / "data" / "startup-snapshot.json").read_text())
    seen: list[bool] = []
    monkeypatch.setattr(cli, "console_main", lambda: seen.append(prefetch.is_prefetching(str(snapshot))))
    monkeypatch.setattr("sys.argv", ["kverify", "check", "--format", "json", str(snapshot)])
    launch.main()
    prefetch.drop_prefetched()
    assert seen == [True]


@pytest.mark.parametrize(
    "command",
    [
        ["check", "{file}"],
        ["trace", "{file}", "--service", "default/web", "--to", "cluster-ip", "--from", "pod", "--node", "node-a"],
    ],
)
def test_check_and_trace_take_their_first_input_from_the_prefetch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    """The command line starts the prefetch of its input, and the loader takes the bytes from it: the
    output is the same as when the file is read where the loader comes to it."""
    from kverify import cli

    snapshot = tmp_path / "snapshot.json"
    snapshot.write_text((Path(__file__).parent / "data" / "startup-snapshot.json").read_text())
    argv = [word.format(file=snapshot) for word in command]
    code = cli.main(argv)
    read_in_place = capsys.readouterr()
    started: list[str] = []
    monkeypatch.setattr(prefetch, "PREFETCH_MIN_BYTES", 1)
    monkeypatch.setattr(
        prefetch, "prefetch", lambda file, limit, start=prefetch.prefetch: (started.append(file), start(file, limit))
    )
    assert cli.main(argv) == code
    assert capsys.readouterr() == read_in_place
    assert started == [str(snapshot)] and not prefetch._prefetched  # started, then taken by the loader


def test_a_command_that_stops_before_reading_its_input_leaves_no_prefetch_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read begun and never taken is dropped when the command ends: a later read of the file in the
    same process reads what the file holds then, not bytes read before."""
    from kverify import cli

    monkeypatch.setattr(prefetch, "PREFETCH_MIN_BYTES", 1)
    snapshot = tmp_path / "snapshot.json"
    snapshot.write_text((Path(__file__).parent / "data" / "startup-snapshot.json").read_text())
    started: list[str] = []
    monkeypatch.setattr(
        prefetch, "prefetch", lambda file, limit, start=prefetch.prefetch: (started.append(file), start(file, limit))
    )
    assert cli.main(["check", str(snapshot), "--feature-gates", "NoSuchGate=true"]) == cli.EXIT_INPUT
    assert started == [str(snapshot)] and not prefetch._prefetched


def test_a_read_that_fails_in_any_way_leaves_no_traceback_and_hands_over_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever the read thread meets, the loader's own read meets again and reports: no thread traceback."""
    import threading

    monkeypatch.setattr(prefetch, "PREFETCH_MIN_BYTES", 10)
    big = tmp_path / "snapshot.json"
    big.write_bytes(b"x" * 100)
    uncaught: list[object] = []
    monkeypatch.setattr(threading, "excepthook", uncaught.append)
    for failure in (OSError(5, "Input/output error"), MemoryError(), ValueError("embedded null byte")):

        def fail(*_: object, failure: BaseException = failure) -> bytes:
            raise failure

        monkeypatch.setattr(prefetch, "read_up_to", fail)
        prefetch.prefetch(str(big), prefetch.DEFAULT_MAX_INPUT_BYTES)
        assert prefetch.take_prefetched(str(big)) is None
    assert uncaught == []
