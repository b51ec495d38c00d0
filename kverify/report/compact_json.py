"""Compact JSON text of large reports, by orjson when it is installed (``pip install kverify[fast]``).

A trace summarised in groups lists every endpoint: 100,000 of them are about 7 MB of JSON, which the
standard library's C encoder takes ~0.1 s to write and orjson ~0.01 s (issue 11). The text must be
the same whichever encoder writes it: the standard library's ``json.dumps(document,
separators=(",", ":"))`` is the reference, and orjson's bytes are used only where they are known to
be equal to it:

- orjson writes non-ASCII characters as UTF-8 where ``ensure_ascii`` escapes them, and DEL (0x7f)
  raw where the standard library escapes it: any such byte in orjson's output means the reference
  is written instead (for every other ASCII character the two escape alike);
- orjson refuses what it cannot write exactly (integers beyond 64 bits, keys that are not strings,
  lone surrogates): a ``TypeError``, and the reference is written instead;
- floats are spelled differently (``1e+16`` against ``1e16``): callers pass documents without
  floats. The trace document has none (its numbers are ports, counts and HTTP statuses);
  ``tests/test_compact_json.py`` compares both encoders on every kind of trace document.
"""

from __future__ import annotations

import json
from typing import Any

try:
    import orjson
except ImportError:  # pragma: no cover - depends on the environment: the standard library writes it all
    orjson = None  # type: ignore[assignment]


def reference(document: Any) -> str:
    """The standard library's compact text: what :func:`dumps` always returns."""
    return json.dumps(document, separators=(",", ":"))


def dumps(document: Any) -> str:
    """``json.dumps(document, separators=(",", ":"))``, written by orjson when it gives the same text.

    ``document`` holds no floats (see the module's docstring)."""
    if orjson is None:
        return reference(document)
    try:
        written = orjson.dumps(document)
    except TypeError:  # orjson.JSONEncodeError: something orjson does not write as json does
        return reference(document)
    if not written.isascii() or b"\x7f" in written:
        return reference(document)
    return written.decode("ascii")
