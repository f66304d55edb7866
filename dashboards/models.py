from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from assessments.models import Assessment


class Report(models.Model):
    """A PDF summary of one assessment, printed in the background."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Printing"
        DONE = "done", "Ready"
        FAILED = "failed", "Failed"

    assessment = models.ForeignKey(
        Assessment, on_delete=models.CASCADE, related_name="reports"
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    file = models.FileField(upload_to="reports/", blank=True)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Report {self.pk} of assessment {self.assessment_id} ({self.status})"

    # A report still unfinished this long after it was asked for has lost its
    # worker (or none is running); its page stops polling and says so.
    STALLED_AFTER = timedelta(minutes=15)

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def is_stalled(self) -> bool:
        return (
            not self.is_finished
            and self.created_at is not None
            and timezone.now() - self.created_at > self.STALLED_AFTER
        )
