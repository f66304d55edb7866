from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from accounts.models import Workspace
from vendors.models import Offering


class Framework(models.Model):
    """One version of a questionnaire, loaded from a data file in the repo."""

    key = models.SlugField(max_length=40)
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=120)
    checksum = models.CharField(max_length=64)
    # Use-case profiles: {key: {"label": str, "weights": {pillar_key: number}}}.
    profiles = models.JSONField(default=dict)
    loaded_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["key", "version"], name="framework_version")
        ]

    def __str__(self) -> str:
        return self.title

    def profiles_in_order(self) -> list[tuple[str, dict]]:
        """The use-case profiles as (key, profile), in the framework file's order."""
        return sorted(self.profiles.items(), key=lambda item: item[1].get("order", 0))


class Pillar(models.Model):
    framework = models.ForeignKey(
        Framework, on_delete=models.CASCADE, related_name="pillars"
    )
    key = models.SlugField(max_length=40)
    title = models.CharField(max_length=120)
    summary = models.TextField(blank=True)
    order = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["framework", "order"]
        constraints = [
            models.UniqueConstraint(fields=["framework", "key"], name="pillar_key")
        ]

    def __str__(self) -> str:
        return self.title


class Question(models.Model):
    class Kind(models.TextChoices):
        YES_NO = "yes_no", "Yes / no / partly / unknown"
        CHOICE = "choice", "Single choice"
        MULTI = "multi", "Multiple choice"
        SCALE = "scale", "Scale 1–5"
        NUMBER = "number", "Number"
        DATE = "date", "Date"
        TEXT = "text", "Free text"
        URL = "url", "URL"

    framework = models.ForeignKey(
        Framework, on_delete=models.CASCADE, related_name="questions"
    )
    pillar = models.ForeignKey(
        Pillar, on_delete=models.CASCADE, related_name="questions"
    )
    key = models.SlugField(max_length=60)
    order = models.PositiveSmallIntegerField()
    text = models.TextField()
    help_text = models.TextField(blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    weight = models.FloatField(default=1)
    # [{"value": str, "label": str, "score": 0-100, "red_flag": ""|"warning"|"blocker"}]
    options = models.JSONField(default=list)
    indicators = models.JSONField(default=list)
    # Option values to pre-fill from public evidence: {"all": value, "some": value}.
    public_evidence = models.JSONField(default=dict)
    evidence_hint = models.TextField(blank=True)
    # {"question": key, "values": [option values]} or {} when always asked.
    depends_on = models.JSONField(default=dict)
    vendor_facing = models.BooleanField(default=True)

    class Meta:
        ordering = ["pillar__order", "order"]
        constraints = [
            models.UniqueConstraint(fields=["framework", "key"], name="question_key")
        ]

    def __str__(self) -> str:
        return self.key

    @property
    def is_scored(self) -> bool:
        return bool(self.options) and self.weight > 0

    def option_label(self, value: str) -> str:
        for option in self.options:
            if option["value"] == value:
                return option["label"]
        return value


class Assessment(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        IN_REVIEW = "in_review", "In review"
        DECIDED = "decided", "Decided"

    class Decision(models.TextChoices):
        UNDECIDED = "", "Not decided"
        APPROVE = "approve", "Approve"
        APPROVE_WITH_CONDITIONS = "conditions", "Approve with conditions"
        REJECT = "reject", "Reject"

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="assessments"
    )
    offering = models.ForeignKey(
        Offering, on_delete=models.CASCADE, related_name="assessments"
    )
    framework = models.ForeignKey(Framework, on_delete=models.PROTECT)
    profile = models.CharField(max_length=40)
    custom_weights = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.DRAFT
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    due_date = models.DateField(null=True, blank=True)
    decision = models.CharField(
        max_length=12, choices=Decision.choices, blank=True, default=""
    )
    rationale = models.TextField(blank=True)
    # Set when answers changed after the last scoring; cleared by the task that
    # claims the rescoring. See assessments.services.assessment_rescore_request.
    rescore_pending = models.BooleanField(default=False)
    rescore_requested_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.offering} — {self.framework}"

    def get_absolute_url(self) -> str:
        return reverse("assessment_detail", args=[self.pk])

    @property
    def profile_label(self) -> str:
        profile = self.framework.profiles.get(self.profile, {})
        return profile.get("label", self.profile)


class EvidenceTier(models.TextChoices):
    VENDOR_ASSERTED = "vendor_asserted", "Vendor asserted"
    PUBLICLY_DISCLOSED = "publicly_disclosed", "Publicly disclosed"
    INDEPENDENTLY_OBSERVED = "independently_observed", "Independently observed"


class Answer(models.Model):
    assessment = models.ForeignKey(
        Assessment, on_delete=models.CASCADE, related_name="answers"
    )
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="+")
    # A string for single-valued kinds, a list of strings for multiple choice.
    value = models.JSONField(null=True, blank=True)
    tier = models.CharField(
        max_length=24,
        choices=EvidenceTier.choices,
        default=EvidenceTier.VENDOR_ASSERTED,
    )
    source_url = models.URLField(max_length=500, blank=True)
    note = models.TextField(blank=True)
    evidence_import = models.ForeignKey(
        "EvidenceImport", on_delete=models.SET_NULL, null=True, blank=True
    )
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)
    # Incremented on every save; a save carrying an older version is a conflict.
    version = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["assessment", "question"], name="one_answer_per_question"
            )
        ]

    def __str__(self) -> str:
        return f"{self.question.key}={self.value!r}"

    @property
    def is_answered(self) -> bool:
        return self.value not in (None, "", [])


class AnswerRevision(models.Model):
    """One change of an answer: who made it, when, and the values before and after."""

    answer = models.ForeignKey(
        Answer, on_delete=models.CASCADE, related_name="revisions"
    )
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    changed_at = models.DateTimeField(auto_now_add=True)
    old = models.JSONField(default=dict)
    new = models.JSONField(default=dict)
    # Set when the change accepted a vendor contact's answer.
    vendor_response = models.ForeignKey(
        "VendorResponse",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-changed_at", "-pk"]

    def __str__(self) -> str:
        return f"revision of {self.answer_id} at {self.changed_at:%Y-%m-%d %H:%M}"


class ScoreCard(models.Model):
    """The last computed score of an assessment, as plain data for the pages."""

    assessment = models.OneToOneField(
        Assessment, on_delete=models.CASCADE, related_name="scorecard"
    )
    data = models.JSONField(default=dict)
    method_version = models.CharField(max_length=20)
    computed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"score of assessment {self.assessment_id}"


class EvidenceImport(models.Model):
    """One import of a public transparency index into a workspace."""

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="evidence_imports"
    )
    edition = models.CharField(max_length=60)
    credit = models.CharField(max_length=250)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.edition


class IndicatorDisclosure(models.Model):
    """What the index found one developer disclosed for one indicator."""

    evidence_import = models.ForeignKey(
        EvidenceImport, on_delete=models.CASCADE, related_name="disclosures"
    )
    developer = models.CharField(max_length=120)
    indicator = models.CharField(max_length=200)
    score = models.PositiveSmallIntegerField()
    disclosure = models.TextField(blank=True)
    justification = models.TextField(blank=True)
    references = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["evidence_import", "developer"])]

    def __str__(self) -> str:
        return f"{self.developer}: {self.indicator} = {self.score}"


class VendorLink(models.Model):
    """A link through which a vendor contact answers one assessment's questions.

    The contact needs no account: the token in the link is the credential, so
    only its hash is stored, and the link expires and can be revoked.
    """

    assessment = models.ForeignKey(
        Assessment, on_delete=models.CASCADE, related_name="vendor_links"
    )
    contact_name = models.CharField(max_length=120, blank=True)
    contact_email = models.EmailField(blank=True)
    # SHA-256 of the token in the link; the token itself is never stored.
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_opened_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"vendor link {self.pk} of assessment {self.assessment_id}"

    @property
    def contact_label(self) -> str:
        """Name the contact as the founder typed them, or say who they are."""
        if self.contact_name and self.contact_email:
            return f"{self.contact_name} <{self.contact_email}>"
        return self.contact_name or self.contact_email or "Vendor contact"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def is_active(self) -> bool:
        return not self.is_revoked and not self.is_expired


class VendorResponse(models.Model):
    """A vendor contact's answer to one question, waiting for the founder's review.

    It never changes the assessment's answer by itself: accepting it does, as a
    revision with the evidence tier *vendor asserted*.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Awaiting review"
        FOLLOW_UP = "follow_up", "Follow-up asked"
        ACCEPTED = "accepted", "Accepted"

    link = models.ForeignKey(
        VendorLink, on_delete=models.CASCADE, related_name="responses"
    )
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="+")
    value = models.JSONField(null=True, blank=True)
    source_url = models.URLField(max_length=500, blank=True)
    comment = models.TextField(blank=True)
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.PENDING
    )
    submitted_at = models.DateTimeField()
    times_submitted = models.PositiveIntegerField(default=1)
    # The founder's latest question back to the contact, shown on the link.
    # Limitation: only the latest answer and the latest follow-up are kept, so a
    # long back-and-forth shows its last round only (accepted answers are in
    # the answer's revisions). A message table per response would keep it all.
    follow_up = models.TextField(blank=True)
    follow_up_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["question__pillar__order", "question__order"]
        constraints = [
            models.UniqueConstraint(
                fields=["link", "question"], name="one_vendor_response_per_question"
            )
        ]

    def __str__(self) -> str:
        return f"vendor response {self.pk} to {self.question_id} ({self.status})"
