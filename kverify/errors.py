"""The one exception tree of kverify."""

from __future__ import annotations

import attrs


class KverifyError(Exception):
    """Base of every error kverify raises on purpose."""


@attrs.frozen
class Problem:
    """One problem with the input, in the shape of apimachinery's field errors.

    Rendered as ``FILE:LINE: Kind namespace/name: field.path: message``.
    """

    message: str
    file: str | None = None
    line: int | None = None
    obj: str | None = None  # "Kind namespace/name"
    field: str | None = None

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        parts = [p for p in (self.obj, self.field) if p]
        return where + "".join(f"{p}: " for p in parts) + self.message


class InputError(KverifyError):
    """Bad input: every problem found, reported at once (exit code 2)."""

    def __init__(self, problems: list[Problem] | Problem | str) -> None:
        if isinstance(problems, str):
            problems = [Problem(problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class InternalError(KverifyError):
    """A bug in kverify, e.g. the two engines disagree. Never the user's fault."""

    def __init__(self, message: str) -> None:
        super().__init__(f"internal error (this is a bug in kverify): {message}")
