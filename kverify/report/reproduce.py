"""Reproduce commands that run as printed.

A counterexample's ``command`` is built by the engine as ``kverify trace FILE ...``. Two things are
only known to the command line that prints it:

- where the counterexample's own manifest is: a spec's inline topology, a design-time placement or
  a theorem's solver cluster exists nowhere but in the counterexample, so the CLI writes it (by
  default under :data:`DEFAULT_FOLDER`) and the command names that file;
- how the user runs kverify: ``kverify`` on PATH, ``.venv/bin/kverify``, or ``python -m kverify``
  (:func:`invoked_as`, from ``sys.argv[0]``).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sys
from pathlib import Path

import attrs

from kverify.check.findings import CheckRun
from kverify.verdicts import Counterexample, Refuted

#: Where ``kverify check`` and ``kverify prove`` write counterexamples' own manifests unless
#: ``--write-counterexamples DIR`` says otherwise (relative to the working directory; git-ignorable).
DEFAULT_FOLDER = ".kverify/counterexamples"


def _words(command: str) -> list[str]:
    """``shlex.split(command)``; a command without quotes or backslashes is split on white space, which
    is what shlex does with it, at C speed (a check of 16,000 Services prints hundreds of commands)."""
    if "'" in command or '"' in command or "\\" in command:
        return shlex.split(command)
    words = _SHELL_SPACE.split(command.strip(" \t\r\n"))
    return words if words != [""] else []


#: The white space shlex splits on (str.split would split on more).
_SHELL_SPACE = re.compile(r"[ \t\r\n]+")


def own_manifest(cx: Counterexample) -> bool:
    """The command's manifest is the counterexample's own (``cx-<id>.yaml``), not the user's files."""
    if not cx.manifest:
        return False
    words = _words(cx.command)
    return len(words) > 2 and Path(words[2]).name == f"{cx.id}.yaml"


def _shown(path: str) -> str:
    """``path`` relative to the working directory when it lies under it, else absolute."""
    full = os.path.abspath(path)
    here = os.getcwd()
    return os.path.relpath(full, here) if full.startswith(here + os.sep) else full


def invoked_as(argv0: str | None = None, executable: str | None = None) -> list[str]:
    """The words that start kverify the way this process was started, so a printed command runs as is.

    ``python -m kverify`` (``argv0`` is the package's ``__main__.py``) gives the interpreter and
    ``-m kverify``; the console script gives ``kverify`` when that name on PATH is this script, else
    the script's path; anything else (an embedding program, the pytest plugin) gives ``kverify``.
    """
    argv0 = sys.argv[0] if argv0 is None else argv0
    executable = sys.executable if executable is None else executable
    name = Path(argv0).name
    if name == "__main__.py" and Path(argv0).parent.name == "kverify":
        python = Path(executable).name
        on_path = shutil.which(python)
        same = on_path is not None and os.path.realpath(on_path) == os.path.realpath(executable)
        return [python if same else _shown(executable), "-m", "kverify"]
    if name == "kverify":
        on_path = shutil.which("kverify")
        if on_path is not None and os.path.realpath(on_path) == os.path.realpath(argv0):
            return ["kverify"]
        return [_shown(argv0)]
    return ["kverify"]


#: A command as ``shlex.join`` writes words that need no quoting: words of shlex's safe characters (its
#: ``_find_unsafe`` finds none), one space apart. Split and joined again, such a command is itself.
_PLAIN_COMMAND = re.compile(r"[\w@%+=:,./-]+(?: [\w@%+=:,./-]+)*", re.ASCII)


def placed(cx: Counterexample, *, folder: str | None, program: list[str]) -> Counterexample:
    """``cx`` with its command starting with ``program`` and, when its manifest is its own, naming the
    file under ``folder`` where the caller writes it."""
    plain = not own_manifest(cx) and _PLAIN_COMMAND.fullmatch(cx.command) is not None
    if plain and program == ["kverify"]:
        # Nothing to change: the words would be joined back into the same text (a check's hundreds of
        # findings on the user's files, run by ``kverify`` on PATH). ``cx`` itself says so to the caller.
        return cx
    if plain and program and cx.command.startswith("kverify "):
        # Only the first word changes: the others need no quoting, and would be joined back as they are.
        return attrs.evolve(cx, command=shlex.join(program) + cx.command[len("kverify") :])
    words = _words(cx.command)
    if folder is not None and own_manifest(cx):
        words[2] = _shown(os.path.join(folder, f"{cx.id}.yaml"))
    if words and words[0] == "kverify":
        words[:1] = program
    return attrs.evolve(cx, command=shlex.join(words))


def write(cx: Counterexample, folder: str) -> Path:
    """The counterexample's manifest, written as ``folder/cx-<id>.yaml``."""
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    path = target / f"{cx.id}.yaml"
    path.write_text(cx.manifest)
    return path


def finish(run: CheckRun, *, folder: str, write_all: bool, program: list[str]) -> tuple[CheckRun, list[Path]]:
    """``run`` with every counterexample's command runnable as printed, and the manifests it needs
    written under ``folder`` (``write_all``: every counterexample's manifest, as ``--write-counterexamples`` asks)."""
    written: list[Path] = []
    results = []
    for r in run.results:
        if isinstance(r.verdict, Refuted):
            verdict, path = finish_verdict(r.verdict, folder=folder, write_all=write_all, program=program)
            written += path
            if verdict is not r.verdict:
                r = attrs.evolve(r, verdict=verdict)
        results.append(r)
    return attrs.evolve(run, results=tuple(results)), written


def finish_verdict(verdict: Refuted, *, folder: str, write_all: bool, program: list[str]) -> tuple[Refuted, list[Path]]:
    """One refutation, as :func:`finish` does it."""
    cx = verdict.counterexample
    written = [write(cx, folder)] if cx.manifest and (write_all or own_manifest(cx)) else []
    done = placed(cx, folder=folder, program=program)
    return (verdict if done is cx else attrs.evolve(verdict, counterexample=done)), written
