"""ServiceCIDR objects (``networking.k8s.io/v1``, ``v1beta1``) and a spec's ``environment.serviceCIDR``
-> the service CIDRs kube-proxy knows (rule ``nftables-unallocated-service-ip``).

kube-proxy's set is the union of every ServiceCIDR object's ``spec.cidrs``
(kubernetes/kubernetes pkg/proxy/config/config.go ``ServiceCIDRConfig.handleServiceCIDREvent``:
``c.cidrs.Insert(newServiceCIDR.Spec.CIDRs...)``, then ``OnServiceCIDRsChanged(c.cidrs.UnsortedList())``).
The API server creates the default one, named ``kubernetes``, from ``--service-cluster-ip-range``.

Values are checked as the API server does (pkg/apis/networking/validation/validation.go
``ValidateServiceCIDR``, read at 1758d176): at least one CIDR, at most two, two only of different IP
families (dual-stack), each a valid CIDR (apimachinery ``validation.IsValidCIDR``), with its messages.
"""

from __future__ import annotations

from typing import Any

from kverify.load.fields import Ctx, Path, invalid, ip_version, is_cidr

KIND = "ServiceCIDR"
#: GA in v1.33 (networking.k8s.io/v1); beta from v1.31 (KEP-1880).
API_VERSIONS = ("networking.k8s.io/v1", "networking.k8s.io/v1beta1")

#: The object the API server makes from ``--service-cluster-ip-range`` (pkg/controlplane/controller/
#: defaultservicecidr/default_servicecidr_controller.go ``DefaultServiceCIDRName``).
DEFAULT_SERVICE_CIDR = "kubernetes"

REQUIRED = "Required value: at least one CIDR required"
AT_MOST_TWO = "may only hold up to 2 values"
DUAL_STACK = "may specify no more than one IP for each IP family, i.e 192.168.0.0/24 and 2001:db8::/64"


def service_cidrs_from(ctx: Ctx, data: dict[str, Any]) -> tuple[str, ...]:
    """``spec.cidrs`` of one ServiceCIDR object (empty after recording a problem)."""
    spec = ctx.mapping(data, "spec", ())
    return checked_cidrs(ctx, spec.get("cidrs"), ("spec", "cidrs"))


def checked_cidrs(ctx: Ctx, values: object, path: Path) -> tuple[str, ...]:
    """One or two CIDRs, one per IP family, as ``ValidateServiceCIDR`` accepts them; each problem goes to
    ``ctx`` at ``path`` (the API server stops at the first of the list-wide checks, and so does this)."""
    if values is None or values == []:
        ctx.error(path, REQUIRED)
        return ()
    if type(values) is not list:
        ctx.error(path, invalid(values, "must be a list"))
        return ()
    if len(values) > 2:
        ctx.error(path, invalid(values, AT_MOST_TWO))
        return ()
    texts = [v.strip() if type(v) is str else v for v in values]
    if len(texts) == 2 and not _dual_stack(texts):
        ctx.error(path, invalid(values, DUAL_STACK))
        return ()
    found = [ctx.cidr(text, (*path, i)) for i, text in enumerate(texts)]
    return tuple(c for c in found if c is not None) if None not in found else ()


def _dual_stack(texts: list[object]) -> bool:
    """``netutils.IsDualStackCIDRStrings``: both parse, and they are of different families."""
    if not all(type(t) is str and is_cidr(t) for t in texts):
        return False
    families = {ip_version(str(t).split("/", 1)[0]) for t in texts}
    return len(families) == 2
