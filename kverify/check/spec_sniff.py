"""Which inputs are spec files, told without importing the spec loader (a snapshot's check has none)."""

from __future__ import annotations

import os
import re

_SNIFF_API = re.compile(r"^apiVersion:\s*['\"]?kverify\.io/", re.M)


def is_spec_file(path: str) -> bool:
    """A YAML file whose top level says ``apiVersion: kverify.io/...`` (cheap: no parse). The kind is
    not required here, so that ``kind: Spek`` is reported by the spec loader, not skipped as a manifest."""
    if not path.endswith((".yaml", ".yml")) or not os.path.isfile(path):
        return False
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            head = handle.read(65536)
    except OSError:
        return False
    return bool(_SNIFF_API.search(head))
