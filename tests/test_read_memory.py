"""Reading an input takes memory for what it holds, not for the input limit (512 MB by default)."""

from __future__ import annotations

import io
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kverify.errors import Problem
from kverify.load import sources


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
    got = sources._read_up_to(stream, most, said + 1)
    assert got == data[:most]
    assert max(stream.asked) <= max(said + 1, sources._BLOCK)


def test_a_prefetched_file_reads_as_the_loader_reads_it(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The bytes a prefetch read are the file's, taken once; a later read of the same file reads it again."""
    monkeypatch.setattr(sources, "PREFETCH_MIN_BYTES", 10)
    big = tmp_path / "snapshot.json"
    big.write_bytes(b'{"kind": "List", "items": []}\n')
    sources.prefetch(str(big))
    sources._prefetched[str(big)][0].join()
    big.write_bytes(b"changed after the prefetch\n")  # what the loader gets is what the prefetch read
    problems: list[Problem] = []
    assert sources.read_bytes(str(big), problems) == b'{"kind": "List", "items": []}\n' and not problems
    assert not sources._prefetched
    assert sources.read_bytes(str(big), problems) == b"changed after the prefetch\n"


def test_a_prefetch_hands_over_its_problem_and_a_new_limit_reads_again(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(sources, "PREFETCH_MIN_BYTES", 10)
    big = tmp_path / "snapshot.json"
    big.write_bytes(b"x" * 100)

    def refuse(*_: object) -> bytes:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(sources, "_read_up_to", refuse)
    sources.prefetch(str(big))
    problems: list[Problem] = []
    assert sources.read_bytes(str(big), problems) is None
    assert [str(p) for p in problems] == [f"{big}: Input/output error"]
    monkeypatch.undo()
    monkeypatch.setattr(sources, "PREFETCH_MIN_BYTES", 10)
    sources.prefetch(str(big))  # read under the default limit; the command then lowers it below the size
    token = sources.max_input_bytes.set(50)
    try:
        problems = []
        assert sources.read_bytes(str(big), problems) is None
        assert "larger than the input limit" in str(problems[0])
    finally:
        sources.max_input_bytes.reset(token)


def test_no_prefetch_for_what_is_not_a_big_regular_file(tmp_path: Path) -> None:
    small = tmp_path / "svc.yaml"
    small.write_text("kind: Service\n")
    for path in (str(small), str(tmp_path), str(tmp_path / "missing.json"), "bad\x00name"):
        sources.prefetch(path)
    assert not sources._prefetched


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
    monkeypatch.setattr(sources, "PREFETCH_MIN_BYTES", 1)
    monkeypatch.setattr(sources, "prefetch", lambda file, start=sources.prefetch: (started.append(file), start(file)))
    assert cli.main(argv) == code
    assert capsys.readouterr() == read_in_place
    assert started == [str(snapshot)] and not sources._prefetched  # started, then taken by the loader


def test_a_command_that_stops_before_reading_its_input_leaves_no_prefetch_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read begun and never taken is dropped when the command ends: a later read of the file in the
    same process reads what the file holds then, not bytes read before."""
    from kverify import cli

    monkeypatch.setattr(sources, "PREFETCH_MIN_BYTES", 1)
    snapshot = tmp_path / "snapshot.json"
    snapshot.write_text((Path(__file__).parent / "data" / "startup-snapshot.json").read_text())
    started: list[str] = []
    monkeypatch.setattr(sources, "prefetch", lambda file, start=sources.prefetch: (started.append(file), start(file)))
    assert cli.main(["check", str(snapshot), "--feature-gates", "NoSuchGate=true"]) == cli.EXIT_INPUT
    assert started == [str(snapshot)] and not sources._prefetched
