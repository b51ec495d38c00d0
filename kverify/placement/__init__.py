"""Design-time reviews: Services backed by workloads on clusters that do not exist yet.

A claim about a Service is decided over **every placement** the scheduler may choose for the
workloads behind it, on the nodes the user describes (node pools, Node objects) or, with no nodes
described, on every cluster: the scheduler's constraints (``scheduler.py``) and the routing rule
table (``kverify.semantics``, interpreted by Z3) are one formula, so a verdict is a proof over all
placements or the smallest placement that breaks the claim, replayed through the executable model.
"""

from kverify.placement.design import Backend, Design, backends_of

__all__ = ["Backend", "Design", "backends_of"]
