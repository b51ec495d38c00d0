"""The rule table of Service routing, written once against ``Ops`` (see ``ops.py``)."""


def load_rules() -> None:
    """Import every module that registers rules, so ``registry.RULES`` is complete."""
    from kverify.concrete import classify, route, service_cidr  # noqa: F401  (classification rules)
    from kverify.semantics import decide, load_balancer, unallocated  # noqa: F401
