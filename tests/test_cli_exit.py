"""The console entry point (``kverify`` script, ``python -m kverify``) ends with ``os._exit`` to skip
the interpreter's teardown: what it prints, to a pipe or a file, must all arrive, files it writes must
be complete, and the exit code must be main()'s (0, 1, 2, 3)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kverify.cli import main
from tests.test_check_exit_codes import HOSTNAME_ONLY, SPEC

# SPEC (EXPECT replaced per case) and HOSTNAME_ONLY (a LoadBalancer known only by hostname) are the exit-code
# tests'; in-cluster clients via that LoadBalancer are beyond the model (Unknown).
UNKNOWN_SPEC = (
    "apiVersion: kverify.io/v1alpha1\nkind: Spec\nmetadata: {name: elb}\nmanifests: [elb.yaml]\n"
    "claims:\n  - {id: delivered, service: shop/elb, from: pod, via: load-balancer, property: delivered}\n"
)
CASES = [
    pytest.param(SPEC.replace("EXPECT", "refuted"), 0, id="as expected: 0"),
    pytest.param(SPEC.replace("EXPECT", "holds"), 1, id="a claim fails: 1"),
    pytest.param(None, 2, id="a missing file: 2"),
    pytest.param(UNKNOWN_SPEC, 3, id="unknown: 3"),
]


def _entry_points() -> list[list[str]]:
    """``python -m kverify``, and the installed console script when this interpreter has one."""
    commands = [[sys.executable, "-m", "kverify"]]
    script = Path(sys.executable).parent / "kverify"
    if script.exists():
        commands.append([str(script)])
    return commands


#: Buffered stdout and stderr, as a user's shell gives them (this environment may set PYTHONUNBUFFERED,
#: which would hide output left unflushed at os._exit).
BUFFERED = {key: value for key, value in os.environ.items() if key != "PYTHONUNBUFFERED"}


def _same_command(text: str) -> str:
    """Reproduce lines name kverify as it was started (``python -m kverify`` or ``kverify``)."""
    return re.sub(r'(reproduce: |"command": ")[^"\n]*? trace ', r"\1kverify trace ", text)


def _write_inputs(tmp_path: Path, spec: str | None) -> str:
    (tmp_path / "elb.yaml").write_text(HOSTNAME_ONLY)
    if spec is None:
        return "no-such-spec.yaml"
    (tmp_path / "spec.yaml").write_text(spec)
    return "spec.yaml"


@pytest.mark.parametrize(("spec", "code"), CASES)
def test_the_console_entry_point_delivers_all_output_and_keeps_the_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, spec: str | None, code: int
) -> None:
    name = _write_inputs(tmp_path, spec)
    monkeypatch.chdir(tmp_path)
    argv = ["check", name, "--verbose"]
    # The same command in process (main() returns; no os._exit) gives the output to expect.
    assert main(argv) == code
    expected = capsys.readouterr()
    assert expected.out or expected.err
    for command in _entry_points():
        piped = subprocess.run(
            [*command, *argv], capture_output=True, text=True, check=False, cwd=tmp_path, env=BUFFERED
        )
        assert piped.returncode == code, command
        assert (_same_command(piped.stdout), piped.stderr) == (_same_command(expected.out), expected.err), command
        # stdout redirected to a file (block-buffered, unlike a terminal), and --output.
        with open(tmp_path / "stdout.txt", "w") as stdout, open(tmp_path / "stderr.txt", "w") as stderr:
            to_file = subprocess.run(
                [*command, *argv], stdout=stdout, stderr=stderr, check=False, cwd=tmp_path, env=BUFFERED
            )
        assert to_file.returncode == code, command
        assert _same_command((tmp_path / "stdout.txt").read_text()) == _same_command(expected.out)
        assert (tmp_path / "stderr.txt").read_text() == expected.err
        if spec is not None:
            report = tmp_path / "report.json"
            report.unlink(missing_ok=True)
            json_argv = ["check", name, "--format", "json", "--output", str(report)]
            assert main(json_argv) == code
            capsys.readouterr()
            in_process = report.read_text()
            report.unlink()
            done = subprocess.run(
                [*command, *json_argv], capture_output=True, text=True, check=False, cwd=tmp_path, env=BUFFERED
            )
            assert done.returncode == code, done.stderr
            assert _same_command(report.read_text()) == _same_command(in_process)


@pytest.mark.parametrize("command", ["check", "diff"])
def test_output_dash_is_standard_output_not_a_file_named_dash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    # As for inputs, "-" names standard output: `--output -` wrote a file called "-" in the working directory.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "elb.yaml").write_text(HOSTNAME_ONLY)
    words = ["check", "elb.yaml"] if command == "check" else ["diff", "elb.yaml", "elb.yaml"]
    main([*words, "--format", "json", "--output", "-"])
    assert capsys.readouterr().out.startswith("{") and not (tmp_path / "-").exists()
