"""Every reproduce command kverify prints runs as printed and shows the counterexample (issue 12).

kverify is run the way a user runs it (``python -m kverify``, in a fresh working directory): the
bundled specs, the examples, a design-time placement and a theorem of the library. Every
``reproduce:`` line of the text report is run (in this process, for speed) and one of its outcomes
must be the counterexample's; one command per manifest also runs through the shell exactly as
printed (with ``--hops``) and must show the counterexample's hops.
"""

from __future__ import annotations

import functools
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kverify.check import facts_for, run_builtin
from kverify.cli import main
from kverify.load import load_manifests, to_cluster
from kverify.model import Dataplane
from kverify.report.reproduce import DEFAULT_FOLDER, finish_verdict, invoked_as, own_manifest, placed
from kverify.verdicts import Counterexample, Refuted

ROOT = Path(__file__).resolve().parent.parent

# A Deployment behind a NodePort with eTP Local, and no EndpointSlice: decided over every placement.
DESIGN = """\
apiVersion: v1
kind: Service
metadata: {name: edge, namespace: shop}
spec:
  type: NodePort
  clusterIP: 10.96.0.12
  externalTrafficPolicy: Local
  ports: [{name: http, port: 80, targetPort: 8080, nodePort: 30080}]
  selector: {app: edge}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: edge, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: edge}}
  template:
    metadata: {labels: {app: edge}}
    spec:
      containers: [{name: edge, image: edge:1, ports: [{containerPort: 8080}]}]
"""

# Contour's envoy Service as its example manifests ship it (an AWS annotation, no aws-load-balancer-type):
# the AWS cloud provider's Classic ELB, known from the annotation, which the exported counterexample lacks.
DESIGN_CLASSIC_ELB = """\
apiVersion: v1
kind: Service
metadata:
  name: envoy
  namespace: edge
  annotations: {service.beta.kubernetes.io/aws-load-balancer-backend-protocol: tcp}
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  ports: [{name: http, port: 80, targetPort: 8080}]
  selector: {app: envoy}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: envoy, namespace: edge}
spec:
  selector: {matchLabels: {app: envoy}}
  template:
    metadata: {labels: {app: envoy}}
    spec:
      containers: [{name: envoy, image: envoy:1, ports: [{containerPort: 8080}]}]
"""


def _kverify(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "kverify", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def _reproduce_lines(text: str) -> list[str]:
    return [line.split("reproduce: ", 1)[1] for line in text.splitlines() if "reproduce: " in line]


def _counterexamples(document: dict) -> dict[str, dict]:  # type: ignore[type-arg]
    """command -> counterexample, from a check report or a prove report."""
    verdicts = [r["verdict"] for r in document["results"]] if "tool" in document else document["results"]
    return {v["counterexample"]["command"]: v["counterexample"] for v in verdicts if v["verdict"] == "refuted"}


def _as_traced(cx: dict) -> tuple[list[str], list[dict]]:  # type: ignore[type-arg]
    """The counterexample's trace lines and hops as ``kverify trace`` shows them: a packet lost at a failed
    node (rule change-node-failed, kverify.change.failure) ends in a hop to "(end)" that the change engine
    adds; ``kverify trace`` does not know the node failed and shows the path up to it."""
    trace, hops = list(cx["trace"]), list(cx["outcome"]["hops"])
    if "change-node-failed" not in cx["outcome"]["rules"]:
        return trace, hops
    return trace[:-1], hops[:-1]


def _run_as_printed(cwd: Path, command: str, cx: dict) -> None:  # type: ignore[type-arg]
    """Through the shell, exactly as printed: it succeeds and shows the counterexample's hops."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    shown = subprocess.run(f"{command} --hops", shell=True, cwd=cwd, env=env, capture_output=True, text=True)
    assert shown.returncode == 0, (command, shown.stderr)
    lines = [line.strip() for line in shown.stdout.splitlines()]
    trace, _ = _as_traced(cx)
    assert all(hop in lines for hop in trace), (command, trace, shown.stdout)


def _same_outcome(cwd: Path, command: str, cx: dict, monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def, type-arg]
    """The printed command's arguments, run in this process as JSON: one outcome is the counterexample's."""
    words = shlex.split(command)
    arguments = words[words.index("trace") :]
    monkeypatch.chdir(cwd)
    capsys.readouterr()
    assert main([*arguments, "--format", "json"]) == 0, command
    outcomes = json.loads(capsys.readouterr().out)["outcomes"]
    if "change-node-failed" in cx["outcome"]["rules"]:  # the executable model's path up to the failed node
        _, hops = _as_traced(cx)
        assert any(o["hops"][: len(hops)] == hops for o in outcomes), (command, hops, outcomes)
        return
    assert any(o == cx["outcome"] for o in outcomes), (command, cx["outcome"], outcomes)


CASES = [
    pytest.param(["check", "-v"], [], id="the bundled specs"),
    pytest.param(["check", "-v", "examples/shop/specs"], ["examples"], id="the shop example's spec"),
    pytest.param(["check", "-v", "examples/shop/manifests"], ["examples"], id="the shop example's manifests"),
    pytest.param(["check", "-v", "design.yaml"], ["design"], id="a design-time placement"),
    pytest.param(["check", "-v", "elb.yaml"], ["design"], id="a load balancer chosen by an annotation"),
    pytest.param(["prove", "etp-local-always-delivers", "--dataplane", "iptables"], [], id="a theorem of the library"),
]


@pytest.mark.parametrize(("argv", "needs"), CASES)
def test_every_printed_reproduce_command_runs_as_printed(
    tmp_path: Path,
    argv: list[str],
    needs: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if "examples" in needs:
        shutil.copytree(ROOT / "examples", tmp_path / "examples")
    if "design" in needs:
        (tmp_path / "design.yaml").write_text(DESIGN)
        (tmp_path / "elb.yaml").write_text(DESIGN_CLASSIC_ELB)
    text = _kverify(tmp_path, *argv)
    assert text.returncode in (0, 1), text.stderr
    document = json.loads(_kverify(tmp_path, *argv, "--format", "json").stdout)
    counterexamples = _counterexamples(document)
    printed = _reproduce_lines(text.stdout)
    assert printed, text.stdout
    assert set(printed) == set(counterexamples)
    starts = {(sys.executable, "-m", "kverify"), (Path(sys.executable).name, "-m", "kverify")}
    for command in printed:
        assert tuple(shlex.split(command)[:3]) in starts, command
        _same_outcome(tmp_path, command, counterexamples[command], monkeypatch, capsys)
    for command in {c.split(" --service ")[0]: c for c in printed}.values():  # one per manifest, as printed
        _run_as_printed(tmp_path, command, counterexamples[command])
    own = [c for c in printed if DEFAULT_FOLDER in c]
    if "design" in needs or argv[0] == "prove" or not needs:
        assert own, "these runs have counterexamples whose cluster exists only in the counterexample"
        assert "counterexample manifest(s) to .kverify/counterexamples" in text.stderr


def test_write_counterexamples_names_the_folder_in_the_commands(tmp_path: Path) -> None:
    (tmp_path / "design.yaml").write_text(DESIGN)
    run = _kverify(tmp_path, "check", "-v", "design.yaml", "--write-counterexamples", "out/cx")
    (command,) = _reproduce_lines(run.stdout)
    file = shlex.split(command)[4]
    assert file.startswith("out/cx/cx-") and (tmp_path / file).is_file()
    assert not (tmp_path / ".kverify").exists()


@pytest.mark.parametrize(
    ("argv0", "expected"),
    [
        pytest.param("/somewhere/site-packages/kverify/__main__.py", "-m kverify", id="python -m kverify"),
        pytest.param("something-else", "kverify", id="an embedding program"),
    ],
)
def test_the_command_starts_the_way_kverify_was_started(argv0: str, expected: str) -> None:
    assert " ".join(invoked_as(argv0, sys.executable)).endswith(expected)


def test_a_console_script_not_on_path_is_named_by_its_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = tmp_path / ".venv" / "bin" / "kverify"
    script.parent.mkdir(parents=True)
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", "/nonexistent")
    assert invoked_as(str(script), sys.executable) == [".venv/bin/kverify"]
    monkeypatch.setenv("PATH", str(script.parent))
    assert invoked_as(str(script), sys.executable) == ["kverify"]


@settings()
@given(st.text(alphabet=st.sampled_from(["a", "-", "/", " ", "\t", "\n", "\r", "\x0b", "\xa0", "'", '"', "\\", "é"])))
def test_commands_are_split_into_words_as_shlex_splits_them(command: str) -> None:
    """The fast split of reproduce commands (no quotes, no backslash: split on shlex's white space)."""
    from kverify.report.reproduce import _words

    try:
        expected = shlex.split(command)
    except ValueError:  # an unterminated quote: shlex's own error, from the same call
        with pytest.raises(ValueError):
            _words(command)
        return
    assert _words(command) == expected


@functools.cache
def _a_counterexample() -> Counterexample:
    """A counterexample found on the user's files (its command names them), as ``kverify check`` finds it."""
    files = [str(ROOT / "tests" / "data" / "check" / name) for name in ("three-nodes.yaml", "services.yaml")]
    loaded = load_manifests(files)
    cluster = to_cluster(loaded)
    run = run_builtin(cluster, facts_for(cluster), files=files)
    cx = next(r.verdict.counterexample for r in run.results if isinstance(r.verdict, Refuted))
    assert not own_manifest(cx)
    return cx


_WORDS = st.lists(
    st.text(
        alphabet=st.sampled_from(["a", "Z", "0", "-", "/", ".", "=", ",", ":", "@", "%", "+", "_", " ", "'", "é", "$"])
    ),
    max_size=6,
)


@given(st.sampled_from(["kverify", "python"]), _WORDS, st.sampled_from(["", "  ", "\t"]), st.booleans())
def test_a_command_placed_as_is_is_the_one_split_and_joined_again(
    first: str, words: list[str], spacing: str, quoted: bool
) -> None:
    """``placed`` returns the counterexample itself only for a command that splitting and joining gives
    back unchanged; run by another program, or with other spacing or quoting, the words are joined anew.
    A plain command run by another program (one whose path needs quoting, too) has only its first word
    replaced, as splitting and joining would give it."""
    command = shlex.join([first, *words]).replace(" ", " " + spacing, 1)
    if quoted:  # quotes shlex.join would not write
        command = f"'{first}'{command.removeprefix(first)}"
    cx = attrs.evolve(_a_counterexample(), command=command)
    for program in (["kverify"], ["python", "-m", "kverify"], ["/opt/my tools/python3", "-m", "kverify"]):
        done = placed(cx, folder=DEFAULT_FOLDER, program=program)
        split = shlex.split(command)
        expected = shlex.join([*program, *split[1:]] if split[0] == "kverify" else split)
        assert done.command == expected
        if done is cx:
            assert program == ["kverify"] and command == expected


def test_a_check_on_the_users_files_keeps_its_counterexamples_when_run_as_kverify() -> None:
    cx = _a_counterexample()
    assert placed(cx, folder=DEFAULT_FOLDER, program=["kverify"]) is cx
    verdict = Refuted(claim="c", dataplane=Dataplane.IPTABLES, scope="s", counterexample=cx)
    assert finish_verdict(verdict, folder=DEFAULT_FOLDER, write_all=False, program=["kverify"]) == (verdict, [])
    moved = placed(cx, folder=DEFAULT_FOLDER, program=[".venv/bin/kverify"])
    assert moved.command == ".venv/bin/kverify" + cx.command.removeprefix("kverify")


@given(_WORDS)
def test_shell_join_is_shlex_join(words: list[str]) -> None:
    """Plain words are joined as they are, the others quoted: as ``shlex.join`` writes them all."""
    from kverify.prove.commands import shell_join

    for each in (words, ["kverify", "trace", *words], [*words, ""], ["a b"], [" "], []):
        assert shell_join(each) == shlex.join(each)
