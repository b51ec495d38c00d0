"""Where the two sides of a diff come from: files and directories as they are, or paths at a git
revision (``REV:path``, or ``--git OLD_REV NEW_REV PATH...``), exported with ``git archive`` into a
temporary folder so that spec files find their manifests by the same relative paths."""

from __future__ import annotations

import os
import subprocess
import tarfile
import tempfile
from collections.abc import Sequence
from contextlib import ExitStack

import attrs

from kverify.errors import InputError, Problem


@attrs.frozen(kw_only=True)
class Side:
    """The paths of one side, the folder they are shown relative to, and how the reports name it."""

    label: str
    paths: tuple[str, ...]
    root: str | None = None  # a git export: paths are shown relative to it
    warnings: tuple[str, ...] = ()


def _git(args: Sequence[str], field: str) -> bytes:
    try:
        done = subprocess.run(["git", *args], capture_output=True, check=False)
    except OSError as error:
        raise InputError(Problem(f"cannot run git: {error.strerror or error}", field=field)) from None
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip().splitlines()
        raise InputError(Problem(f"git {args[0]}: {message[-1] if message else 'failed'}", field=field))
    return done.stdout


def is_revision(text: str) -> bool:
    """``text`` names a commit (quietly false outside a git repository)."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", f"{text}^{{commit}}"], capture_output=True, check=False
        )
    except OSError:
        return False
    return done.returncode == 0


def split_revision_path(text: str) -> tuple[str, str] | None:
    """``REV:path`` -> (REV, path) when ``text`` is not an existing path and REV names a commit."""
    if os.path.exists(text) or ":" not in text:
        return None
    rev, path = text.split(":", 1)
    if rev and is_revision(rev):
        return rev, path or "."
    return None


def export(rev: str, paths: Sequence[str], stack: ExitStack, field: str) -> Side:
    """``paths`` (relative to the working directory) as they are at ``rev``, in a temporary folder."""
    if not is_revision(rev):
        raise InputError(Problem(f"Not found: revision {rev!r} (not a commit in this git repository)", field=field))
    folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="kverify-diff-"))
    present: list[str] = []
    missing: list[str] = []
    for path in paths:
        listed = _git(["ls-tree", "-r", "--name-only", rev, "--", path], field)
        (present if listed.strip() else missing).append(path)
    if present:
        archive = os.path.join(folder, ".export.tar")
        with open(archive, "wb") as out:
            out.write(_git(["archive", "--format=tar", rev, "--", *present], field))
        with tarfile.open(archive) as tar:
            tar.extractall(folder, filter="data")
        os.remove(archive)
    warnings = tuple(f"{rev}: {path} does not exist at this revision: read as empty" for path in missing)
    return Side(
        label=f"{rev}",
        paths=tuple(os.path.join(folder, p) for p in present),
        root=folder,
        warnings=warnings,
    )


def sides(old: str, new: str, git_paths: Sequence[str] | None, stack: ExitStack) -> tuple[Side, Side]:
    """The two sides: ``--git OLD NEW PATH...`` (``git_paths`` given), else each of OLD and NEW is a
    file, a directory, or ``REV:path``."""
    if git_paths is not None:
        if not git_paths:
            raise InputError(Problem("Required value: at least one PATH with --git", field="PATH"))
        return export(old, git_paths, stack, "OLD"), export(new, git_paths, stack, "NEW")
    out: list[Side] = []
    for text, field in ((old, "OLD"), (new, "NEW")):
        split = split_revision_path(text)
        if split is not None:
            side = export(split[0], [split[1]], stack, field)
            out.append(attrs.evolve(side, label=text))
        elif not os.path.exists(text) and text != "-":
            raise InputError(Problem(f"Not found: {text!r} (no such file or directory, nor REV:path)", field=field))
        else:
            out.append(Side(label=text, paths=(text,)))
    return out[0], out[1]
