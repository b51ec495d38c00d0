"""Service annotations both Service readers (:mod:`kverify.load.services`, :mod:`kverify.load.plain_service`) read."""

from __future__ import annotations

from typing import Any

#: Written on exported manifests: the field paths kverify filled in (read back, so a counterexample
#: manifest still says which of its values are only known after apply).
ALLOCATED_ANNOTATION = "kverify.io/allocated"
TOPOLOGY_ANNOTATIONS = ("service.kubernetes.io/topology-mode", "service.kubernetes.io/topology-aware-hints")


def topology_annotation(obj: dict[str, Any]) -> tuple[str, str] | None:
    """The Service's topology annotation (the newer key wins, as kube-proxy reads it)."""
    annotations = obj["metadata"].get("annotations")
    if type(annotations) is not dict:
        return None
    for key in TOPOLOGY_ANNOTATIONS:
        value = annotations.get(key)
        if type(value) is str:
            return (key, value)
    return None
