"""Loading Kubernetes manifests into kverify's model; the only layer that sees YAML, JSON and camelCase."""

from kverify.load.manifests import LoadedManifests, load_manifests, to_cluster

__all__ = ["LoadedManifests", "load_manifests", "to_cluster"]
