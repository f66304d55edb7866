from __future__ import annotations

from django.db import models
from django.urls import reverse
from django.utils.text import Truncator

from accounts.models import Workspace


class Vendor(models.Model):
    """A company whose models a founder might build on."""

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="vendors"
    )
    name = models.CharField(max_length=120)
    website = models.URLField(blank=True)
    notes = models.TextField(blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "name"], name="vendor_name_unique_in_workspace"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("vendor_detail", args=[self.pk])

    @property
    def website_label(self) -> str:
        """The website without its scheme, cut to fit a list's column."""
        address = self.website.replace("https://", "").replace("http://", "")
        return Truncator(address).chars(40)

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None


class Offering(models.Model):
    """One model or product of a vendor, at a version."""

    vendor = models.ForeignKey(
        Vendor, on_delete=models.CASCADE, related_name="offerings"
    )
    name = models.CharField(max_length=120)
    version = models.CharField(max_length=60, blank=True)
    notes = models.TextField(blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "version"]
        constraints = [
            models.UniqueConstraint(
                fields=["vendor", "name", "version"],
                name="offering_name_version_unique_per_vendor",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.version}".strip()

    def get_absolute_url(self) -> str:
        return reverse("offering_detail", args=[self.pk])

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None
