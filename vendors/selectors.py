"""Reads for the vendor and offering pages."""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from accounts.models import Workspace
from vendors.models import Offering, Vendor


@dataclass(frozen=True)
class LatestAssessment:
    """The newest assessment of any of a vendor's offerings, for the vendor list."""

    pk: int
    status: str
    status_label: str
    offering: str
    grade: str | None


def _assessment_model():
    # Assessments sit above vendors in the layering, so the model is looked up
    # by name rather than imported; vendors never imports assessments' code.
    return apps.get_model("assessments", "Assessment")


def vendor_queryset(
    workspace: Workspace, *, q: str = "", include_archived: bool = False
) -> QuerySet[Vendor]:
    """Return the workspace's vendors by name, matching ``q`` on vendor or model.

    Each vendor carries ``offerings_count`` and ``latest_assessment_id``, the
    newest assessment of any of its live offerings. Slice it for a page, then
    give the page to ``vendor_latest_attach``.
    """
    assessment_model = _assessment_model()
    latest = (
        assessment_model.objects.filter(
            offering__vendor=OuterRef("pk"), offering__archived_at__isnull=True
        )
        .order_by("-created_at", "-pk")
        .values("pk")[:1]
    )
    live_offerings = (
        Offering.objects.filter(vendor=OuterRef("pk"), archived_at__isnull=True)
        .order_by()
        .values("vendor")
        .annotate(count=Count("pk"))
        .values("count")
    )
    # Correlated subqueries rather than a join and GROUP BY: the database then
    # works them out for the page of vendors shown, not for the whole portfolio,
    # and counting the matches for the paginator skips them altogether.
    vendors = Vendor.objects.filter(workspace=workspace).annotate(
        offerings_count=Coalesce(Subquery(live_offerings), 0),
        latest_assessment_id=Subquery(latest),
    )
    if not include_archived:
        vendors = vendors.filter(archived_at__isnull=True)
    q = q.strip()
    if q:
        offering_matches = Offering.objects.filter(
            vendor=OuterRef("pk"), name__icontains=q
        )
        vendors = vendors.filter(Q(name__icontains=q) | Q(Exists(offering_matches)))
    return vendors.order_by("name", "pk")


def vendor_latest_attach(vendors: list[Vendor]) -> None:
    """Set ``latest`` (a LatestAssessment or None) on each vendor, in one query."""
    assessment_model = _assessment_model()
    ids = [v.latest_assessment_id for v in vendors if v.latest_assessment_id]
    status_labels = dict(assessment_model.Status.choices)
    rows = assessment_model.objects.filter(pk__in=ids).values(
        "pk", "status", "offering__name", "offering__version", "scorecard__data__grade"
    )
    latest_by_pk = {
        row["pk"]: LatestAssessment(
            pk=row["pk"],
            status=row["status"],
            status_label=status_labels.get(row["status"], row["status"]),
            offering=f"{row['offering__name']} {row['offering__version']}".strip(),
            grade=row["scorecard__data__grade"] or None,
        )
        for row in rows
    }
    for vendor in vendors:
        vendor.latest = latest_by_pk.get(vendor.latest_assessment_id)


def vendor_archived_count(workspace: Workspace) -> int:
    return Vendor.objects.filter(workspace=workspace, archived_at__isnull=False).count()


def _assessments_prefetch() -> Prefetch:
    return Prefetch(
        "assessments",
        queryset=_assessment_model()
        .objects.select_related("framework", "scorecard", "owner")
        .order_by("-created_at", "-pk"),
    )


def offering_list_for_vendor(
    vendor: Vendor, *, include_archived: bool = False
) -> QuerySet[Offering]:
    """Return a vendor's offerings, each with its assessments, newest first."""
    offerings = vendor.offerings.prefetch_related(_assessments_prefetch())
    if not include_archived:
        offerings = offerings.filter(archived_at__isnull=True)
    return offerings.order_by("name", "version")


def offering_archived_count(vendor: Vendor) -> int:
    return vendor.offerings.filter(archived_at__isnull=False).count()


def assessment_list_for_offering(offering: Offering):
    """Return an offering's assessments with what their rows show, newest first."""
    return (
        _assessment_model()
        .objects.filter(offering=offering)
        .select_related("framework", "scorecard", "owner")
        .order_by("-created_at", "-pk")
    )
