"""Loading Kubernetes manifests into kverify's model; the only layer that sees YAML, JSON and camelCase."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kverify.load.manifests import LoadedManifests, load_manifests, to_cluster

__all__ = ["LoadedManifests", "load_manifests", "to_cluster"]


def __getattr__(name: str) -> Any:
    # Imported on first use: the command line reads kverify.load.prefetch (the read of a big input, begun
    # first) and kverify.load.sources (its input limit) before it needs the loaders and the model.
    if name in __all__:
        from kverify.load import manifests

        return getattr(manifests, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
