"""Where a character YAML forbids is reported: the line and column of the character in the file.

libyaml (PyYAML's fast loader, which kverify uses when it is built in) reports such an error at a
byte offset into the UTF-8 text (yaml/libyaml src/reader.c: ``parser->offset += width``), PyYAML's
own reader at a character index; every multi-byte character before the error moved a byte offset
on, so a name in French, a comment in Japanese or an emoji pointed at the wrong column, or line.
The expected positions are counted by hand in the text below (columns from 1, in characters, as an
editor shows them).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kverify.cli import main

SERVICE = """\
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
  annotations: {{note: "{note}"}}
spec:
  clusterIP: 10.96.0.5
  ports: [{{port: 80}}]
  selector: {{app: {app}}}
"""
# A second document with a merge key: kverify composes it again on its own (the composer path).
MERGED = """\
---
apiVersion: v1
kind: Service
metadata: &meta
  name: api
  namespace: shop
spec:
  <<: {{clusterIP: 10.96.0.6}}
  ports: [{{port: 80}}]
  selector: {{app: {app}}}
"""


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        pytest.param(SERVICE.format(note="plain", app="x\x07"), 10, 20, id="ASCII only (unchanged)"),
        pytest.param(SERVICE.format(note="café, 日本語", app="x\x07"), 10, 20, id="multi-byte on an earlier line"),
        pytest.param(SERVICE.format(note="x", app="日本\x07"), 10, 21, id="multi-byte before it on its line"),
        pytest.param(SERVICE.format(note="🚀🚀", app="🚀\x07"), 10, 20, id="four-byte characters"),
        pytest.param(
            SERVICE.format(note="€€€", app="x") + MERGED.format(app="é\x07"),
            20,
            20,
            id="in a document composed again after one with multi-byte text",
        ),
    ],
)
def test_a_forbidden_character_is_located_in_characters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, line: int, column: int
) -> None:
    path = tmp_path / "web.yaml"
    path.write_text(text, encoding="utf-8")
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"{path}:{line}: invalid YAML: control characters are not allowed: \\x07 (column {column})"
    # The position points at the character itself.
    assert text.splitlines()[line - 1][column - 1] == "\x07"
