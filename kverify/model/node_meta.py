"""What a Node carries that the routing model reads besides its addresses: its taints and the label that
keeps it out of external load balancers.

Apart from :mod:`kverify.model.workload` (pods, scheduling, rollouts) so that routing a snapshot does
not import the workload model: its classes cost a tenth of ``kverify trace``'s start-up.
"""

from __future__ import annotations

import attrs
from attrs import validators as v

#: Nodes with this label are left out of external load balancers (KEP-1143, GA v1.21).
EXCLUDE_FROM_LB_LABEL = "node.kubernetes.io/exclude-from-external-load-balancers"


@attrs.frozen(kw_only=True)
class Taint:
    """One of a Node's ``spec.taints``: a pod schedules there only if it tolerates it (NoSchedule), and
    is evicted if it does not (NoExecute)."""

    key: str = attrs.field(validator=v.instance_of(str))
    value: str = ""
    effect: str = attrs.field(validator=v.in_(("NoSchedule", "PreferNoSchedule", "NoExecute")))
