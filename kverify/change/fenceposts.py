"""``maxSurge`` and ``maxUnavailable`` resolved to pod counts, as the Deployment controller does."""

from __future__ import annotations

K8S = "kubernetes/kubernetes"
SOURCE = (
    f"{K8S} pkg/controller/deployment/util/deployment_util.go ResolveFenceposts; "
    "k8s.io/apimachinery/pkg/util/intstr/intstr.go GetScaledValueFromIntOrPercent"
)


def scaled_value(value: int | str, total: int, *, round_up: bool) -> int:
    """``intstr.GetScaledValueFromIntOrPercent``: an int as is; ``"N%"`` of ``total``, rounded up
    (``math.Ceil``) or down (``math.Floor``)."""
    if isinstance(value, int):
        return value
    percent = int(value.rstrip("%"))
    return -(-percent * total // 100) if round_up else percent * total // 100


def resolve_fenceposts(max_surge: int | str, max_unavailable: int | str, desired: int) -> tuple[int, int]:
    """``(surge, unavailable)``: surge rounds up, unavailable rounds down, and when both resolve to 0,
    unavailable is 1 ("on the theory that surge might not work due to quota")."""
    surge = scaled_value(max_surge, desired, round_up=True)
    unavailable = scaled_value(max_unavailable, desired, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable
