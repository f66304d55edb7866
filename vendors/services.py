"""Writes to vendors and offerings."""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Workspace
from vendors.models import Offering, Vendor

logger = logging.getLogger(__name__)

VENDOR_FIELDS = ("name", "website", "notes")
OFFERING_FIELDS = ("name", "version", "notes")


def _vendor_name_taken_error(name: str) -> ValidationError:
    return ValidationError(
        {"name": f"You already have a vendor named “{name}” in this workspace."},
        code="duplicate",
    )


def _vendor_name_check(
    workspace: Workspace | int, name: str, *, exclude_pk: int | None = None
) -> None:
    # The database constraint is case-sensitive; "OpenAI" and "openai" are the
    # same company to a person, so the friendlier check ignores case.
    clashes = Vendor.objects.filter(workspace=workspace, name__iexact=name)
    if exclude_pk is not None:
        clashes = clashes.exclude(pk=exclude_pk)
    clash = clashes.first()
    if clash is not None:
        raise _vendor_name_taken_error(clash.name)


def vendor_create(*, workspace: Workspace, user, name: str, **fields) -> Vendor:
    """Add a vendor to a workspace; a name already in use is a validation error."""
    _vendor_name_check(workspace, name)
    vendor = Vendor(workspace=workspace, name=name, **fields)
    try:
        with transaction.atomic():
            vendor.save()
    except IntegrityError as exc:
        # Two people adding the same vendor at once: the constraint decides.
        raise _vendor_name_taken_error(name) from exc
    logger.info(
        "vendor created vendor=%s workspace=%s user=%s",
        vendor.pk,
        workspace.pk,
        user.pk,
    )
    return vendor


def vendor_update(*, vendor: Vendor, user, **fields) -> Vendor:
    """Change a vendor's name, website or notes."""
    if "name" in fields:
        _vendor_name_check(vendor.workspace_id, fields["name"], exclude_pk=vendor.pk)
    for name, value in fields.items():
        if name not in VENDOR_FIELDS:
            raise TypeError(f"vendor_update got an unexpected field {name!r}")
        setattr(vendor, name, value)
    try:
        with transaction.atomic():
            vendor.save(update_fields=[*fields])
    except IntegrityError as exc:
        raise _vendor_name_taken_error(fields.get("name", vendor.name)) from exc
    logger.info("vendor updated vendor=%s user=%s", vendor.pk, user.pk)
    return vendor


def vendor_archive(*, vendor: Vendor, user) -> Vendor:
    """Hide a vendor from lists; nothing is deleted and it can be restored."""
    if vendor.archived_at is None:
        vendor.archived_at = timezone.now()
        vendor.save(update_fields=["archived_at"])
        logger.info("vendor archived vendor=%s user=%s", vendor.pk, user.pk)
    return vendor


def vendor_unarchive(*, vendor: Vendor, user) -> Vendor:
    """Bring an archived vendor back into lists."""
    if vendor.archived_at is not None:
        vendor.archived_at = None
        vendor.save(update_fields=["archived_at"])
        logger.info("vendor restored vendor=%s user=%s", vendor.pk, user.pk)
    return vendor


def _offering_taken_error(clash: Offering) -> ValidationError:
    where = " (archived: restore it instead)" if clash.is_archived else ""
    return ValidationError(
        {
            "name": f"{clash.vendor.name} already has “{clash}”{where}. Give a "
            "different version, or open the existing one."
        },
        code="duplicate",
    )


def _offering_check(
    vendor: Vendor, name: str, version: str, *, exclude_pk: int | None = None
) -> None:
    # Like vendor names, "GPT-5" and "gpt-5" name the same model to a person,
    # so the friendlier check ignores case where the constraint does not.
    clashes = Offering.objects.filter(
        vendor=vendor, name__iexact=name, version__iexact=version
    ).select_related("vendor")
    if exclude_pk is not None:
        clashes = clashes.exclude(pk=exclude_pk)
    clash = clashes.first()
    if clash is not None:
        raise _offering_taken_error(clash)


def offering_create(*, vendor: Vendor, user, **fields) -> Offering:
    """Add a model or product to a vendor; a name and version it has is refused."""
    _offering_check(vendor, fields.get("name", ""), fields.get("version", ""))
    offering = Offering(vendor=vendor, **fields)
    try:
        with transaction.atomic():
            offering.save()
    except IntegrityError as exc:
        # Two people adding the same offering at once: the constraint decides.
        raise _offering_taken_error(offering) from exc
    logger.info(
        "offering created offering=%s vendor=%s user=%s",
        offering.pk,
        vendor.pk,
        user.pk,
    )
    return offering


def offering_update(*, offering: Offering, user, **fields) -> Offering:
    """Change an offering's name, version or notes."""
    for name, value in fields.items():
        if name not in OFFERING_FIELDS:
            raise TypeError(f"offering_update got an unexpected field {name!r}")
        setattr(offering, name, value)
    _offering_check(
        offering.vendor, offering.name, offering.version, exclude_pk=offering.pk
    )
    try:
        with transaction.atomic():
            offering.save(update_fields=[*fields])
    except IntegrityError as exc:
        raise _offering_taken_error(offering) from exc
    logger.info("offering updated offering=%s user=%s", offering.pk, user.pk)
    return offering


def offering_archive(*, offering: Offering, user) -> Offering:
    """Hide an offering from lists; its assessments stay reachable."""
    if offering.archived_at is None:
        offering.archived_at = timezone.now()
        offering.save(update_fields=["archived_at"])
        logger.info("offering archived offering=%s user=%s", offering.pk, user.pk)
    return offering


def offering_unarchive(*, offering: Offering, user) -> Offering:
    """Bring an archived offering back into lists."""
    if offering.archived_at is not None:
        offering.archived_at = None
        offering.save(update_fields=["archived_at"])
        logger.info("offering restored offering=%s user=%s", offering.pk, user.pk)
    return offering
