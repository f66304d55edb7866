from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse

from accounts.models import Workspace
from vendors.models import Offering


class ApiKind(models.TextChoices):
    OPENAI_CHAT = "openai_chat", "OpenAI-compatible chat completions"
    ANTHROPIC_MESSAGES = "anthropic_messages", "Anthropic Messages"


class RerunSchedule(models.TextChoices):
    OFF = "off", "Off"
    DAILY = "daily", "Every day"
    WEEKLY = "weekly", "Every week"


class Endpoint(models.Model):
    """Where and how to call an offering's model. The API key is stored encrypted."""

    offering = models.OneToOneField(
        Offering, on_delete=models.CASCADE, related_name="endpoint"
    )
    api_kind = models.CharField(max_length=24, choices=ApiKind.choices)
    base_url = models.URLField(max_length=300)
    model_name = models.CharField(max_length=120)
    # Fernet token of the key; never rendered, logged or exported.
    api_key_encrypted = models.TextField(blank=True)
    max_concurrency = models.PositiveSmallIntegerField(default=8)
    requests_per_minute = models.PositiveIntegerField(default=60)
    timeout_seconds = models.PositiveSmallIntegerField(default=60)
    # Set for endpoints served by Candor's simulated vendor, labelled as such.
    is_simulated = models.BooleanField(default=False)
    # The owner's schedule for re-running every built-in probe family; the beat
    # sweep starts a run when rerun_due_at has passed (null while off).
    rerun_schedule = models.CharField(
        max_length=8, choices=RerunSchedule.choices, default=RerunSchedule.OFF
    )
    rerun_due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.model_name} at {self.base_url}"

    @property
    def has_api_key(self) -> bool:
        return bool(self.api_key_encrypted)


class JudgeProfile(models.Model):
    """A model that grades what deterministic graders cannot, pinned to a version."""

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="judge_profiles"
    )
    name = models.CharField(max_length=120)
    api_kind = models.CharField(max_length=24, choices=ApiKind.choices)
    base_url = models.URLField(max_length=300)
    model_name = models.CharField(max_length=120)
    pinned_version = models.CharField(max_length=120, blank=True)
    api_key_encrypted = models.TextField(blank=True)
    rubric_version = models.CharField(max_length=20, default="1")
    # The judge's own allowance, shared through Redis like an endpoint's.
    requests_per_minute = models.PositiveIntegerField(default=60)
    is_simulated = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


# The start of a run's status_reason when its token budget stopped it.
BUDGET_STOP_REASON = "Token budget reached"


class Run(models.Model):
    """One evaluation run: a suite of probe families sent to one endpoint."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        COMPLETED = "completed", "Completed"
        INCONCLUSIVE = "inconclusive", "Inconclusive"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="runs"
    )
    offering = models.ForeignKey(
        Offering, on_delete=models.CASCADE, related_name="runs"
    )
    endpoint = models.ForeignKey(
        Endpoint, on_delete=models.PROTECT, related_name="runs"
    )
    # What the run calls, copied from the endpoint when it starts: editing the
    # endpoint later must not change what an old run says or what a resumed one calls.
    api_kind = models.CharField(max_length=24, choices=ApiKind.choices, blank=True)
    base_url = models.URLField(max_length=300, blank=True)
    model_name = models.CharField(max_length=120, blank=True)
    is_simulated = models.BooleanField(default=False)
    judge = models.ForeignKey(
        JudgeProfile, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    families = models.JSONField(default=list)  # probe family keys
    repeats = models.PositiveSmallIntegerField(default=1)
    fresh = models.BooleanField(default=False)  # bypass the response cache
    budget_tokens = models.PositiveIntegerField(null=True, blank=True)
    estimated_tokens = models.PositiveIntegerField(default=0)
    status = models.CharField(
        max_length=14, choices=Status.choices, default=Status.QUEUED
    )
    status_reason = models.TextField(blank=True)
    cancel_requested = models.BooleanField(default=False)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    errored = models.PositiveIntegerField(default=0)
    tokens_in = models.PositiveBigIntegerField(default=0)
    tokens_out = models.PositiveBigIntegerField(default=0)
    # Family metrics computed when the run ends: [{family, key, label, ...}].
    metrics = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    # Started by the endpoint's re-run schedule rather than by a person.
    scheduled = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # Refreshed while a worker drives the run; a stale heartbeat means it died.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # When the run's Celery message was last sent; a queued run whose message is
    # older than CANDOR_RUN_REQUEUE_AFTER_SECONDS is sent again by the sweep.
    enqueued_at = models.DateTimeField(null=True, blank=True)
    # What a running run is waiting for (rate limit, a vendor's Retry-After,
    # backoff), shown on its page; blank when it is not waiting.
    WAITING_REASON_MAX = 200
    waiting_reason = models.CharField(max_length=WAITING_REASON_MAX, blank=True)
    waiting_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["offering", "status", "-finished_at"])]

    def __str__(self) -> str:
        return f"run {self.pk} of {self.offering}"

    def save(self, *args, **kwargs) -> None:
        # run_start copies the endpoint; a run made any other way must not start
        # with an empty record of what it calls.
        if self._state.adding and not self.model_name and self.endpoint_id:
            self.endpoint_snapshot(self.endpoint)
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("run_detail", args=[self.pk])

    def endpoint_snapshot(self, endpoint: Endpoint) -> None:
        """Copy what ``endpoint`` calls onto the run (the key stays on the endpoint)."""
        self.api_kind = endpoint.api_kind
        self.base_url = endpoint.base_url
        self.model_name = endpoint.model_name
        self.is_simulated = endpoint.is_simulated

    @property
    def stopped_by_budget(self) -> bool:
        return self.status == self.Status.FAILED and self.status_reason.startswith(
            BUDGET_STOP_REASON
        )

    @property
    def status_label(self) -> str:
        """The status as a person reads it; a budget stop is not a failure."""
        if self.stopped_by_budget:
            return "Stopped: token budget reached"
        return self.get_status_display()

    @property
    def status_style(self) -> str:
        """The CSS modifier of the status badge."""
        return "stopped" if self.stopped_by_budget else self.status

    @property
    def is_finished(self) -> bool:
        return self.status in (
            self.Status.COMPLETED,
            self.Status.INCONCLUSIVE,
            self.Status.FAILED,
            self.Status.CANCELLED,
        )


class Sample(models.Model):
    """One conversation of a run, saved as soon as it finishes."""

    class Status(models.TextChoices):
        DONE = "done", "Done"
        ERRORED = "errored", "Errored"

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="samples")
    family = models.CharField(max_length=40)
    item_key = models.CharField(max_length=60)
    variant = models.CharField(max_length=40)
    repeat = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(max_length=8, choices=Status.choices)
    # [{"role": ..., "content": ...}, ...] plus the raw response bodies, no secrets.
    transcript = models.JSONField(default=list)
    latency_ms = models.PositiveIntegerField(default=0)
    tokens_in = models.PositiveIntegerField(default=0)
    tokens_out = models.PositiveIntegerField(default=0)
    cached = models.BooleanField(default=False)
    passed = models.BooleanField(null=True)
    grade_reason = models.TextField(blank=True)
    grade_labels = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["family", "item_key", "variant", "repeat"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "family", "item_key", "variant", "repeat"],
                name="one_sample_per_conversation",
            )
        ]

    def __str__(self) -> str:
        return f"{self.family}/{self.item_key}/{self.variant}#{self.repeat}"


class CachedResponse(models.Model):
    """A model reply keyed by endpoint, model, messages, parameters, repeat and probe
    version, so an unchanged suite is not paid for twice."""

    key = models.CharField(max_length=64, unique=True)
    reply = models.TextField()
    raw = models.JSONField(default=dict)
    tokens_in = models.PositiveIntegerField(default=0)
    tokens_out = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.key
