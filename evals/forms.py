from __future__ import annotations

from urllib.parse import urlsplit

from django import forms
from django.core.validators import URLValidator

from evals.models import ApiKind, RerunSchedule
from evals.services import URL_CREDENTIALS_REFUSED

KEY_STORED_NOTE = "A key is stored; leave blank to keep it."


class _ApiKeyFields(forms.Form):
    """The write-only API key: never rendered back, blank keeps the stored one."""

    api_key = forms.CharField(
        label="API key",
        required=False,
        strip=True,
        # render_value=False: the browser never receives a key, even after a
        # form error; new-password stops it from filling in a login password.
        widget=forms.PasswordInput(
            render_value=False,
            attrs={"autocomplete": "new-password", "spellcheck": "false"},
        ),
    )
    clear_api_key = forms.BooleanField(
        label="Remove the stored key",
        required=False,
        help_text="For endpoints that need no key, such as some local models.",
    )

    def __init__(self, *args, has_api_key: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.has_api_key = has_api_key
        if has_api_key:
            self.fields["api_key"].help_text = KEY_STORED_NOTE
        else:
            self.fields["api_key"].help_text = (
                "Stored encrypted and never shown again. Leave blank if the "
                "endpoint needs none."
            )
            del self.fields["clear_api_key"]

    def clean_base_url(self) -> str:
        base_url = self.cleaned_data["base_url"]
        parts = urlsplit(base_url)
        if parts.username is not None or parts.password is not None:
            # The typed address holds a password: do not send it back to the page.
            self.data = self.data.copy()
            self.data[self.add_prefix("base_url")] = ""
            raise forms.ValidationError(URL_CREDENTIALS_REFUSED)
        return base_url

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("api_key") and cleaned.get("clear_api_key"):
            self.add_error(
                "clear_api_key",
                "Either enter a new key or remove the stored one, not both.",
            )
        return cleaned


class _HttpUrlField(forms.URLField):
    # Replaces URLField's own validator rather than adding a second one, which
    # would say "Enter a valid URL." twice.
    default_validators = [URLValidator(schemes=["http", "https"])]


def _base_url_field(help_text: str) -> forms.URLField:
    return _HttpUrlField(
        label="Base URL",
        max_length=300,
        assume_scheme="https",
        help_text=help_text,
        widget=forms.URLInput(
            attrs={"placeholder": "https://api.example.com/v1", "spellcheck": "false"}
        ),
    )


class EndpointForm(_ApiKeyFields):
    api_kind = forms.ChoiceField(
        label="API kind",
        choices=ApiKind.choices,
        initial=ApiKind.OPENAI_CHAT,
        help_text="Most vendors and local servers speak the OpenAI-compatible kind.",
    )
    base_url = _base_url_field(
        "Up to the version path, e.g. https://api.openai.com/v1 or "
        "https://api.anthropic.com/v1. Candor adds /chat/completions or /messages."
    )
    model_name = forms.CharField(
        label="Model name",
        max_length=120,
        help_text="Exactly as the vendor's API names it, with the version if pinned.",
        widget=forms.TextInput(attrs={"placeholder": "e.g. gpt-4.1-2025-04-14"}),
    )
    max_concurrency = forms.IntegerField(
        label="Concurrent requests",
        min_value=1,
        max_value=256,
        initial=8,
        help_text="How many calls a run may have in flight at once.",
    )
    requests_per_minute = forms.IntegerField(
        label="Requests per minute",
        min_value=1,
        max_value=100_000,
        initial=60,
        help_text="Stay under your plan's limit; several workers share it.",
    )
    timeout_seconds = forms.IntegerField(
        label="Timeout (seconds)",
        min_value=5,
        max_value=600,
        initial=60,
        help_text="How long one reply may take before the call is retried.",
    )
    rerun_schedule = forms.ChoiceField(
        label="Scheduled re-runs",
        choices=RerunSchedule.choices,
        initial=RerunSchedule.OFF,
        # Left out of a post, the schedule stays as it is.
        required=False,
        help_text=(
            "Re-run every built-in probe family, fresh, on this schedule, so the "
            "dashboard can flag a model whose behaviour drifts. Each re-run costs "
            "tokens like a run started by hand, and no token budget stops it."
        ),
    )

    field_order = [
        "api_kind",
        "base_url",
        "model_name",
        "api_key",
        "clear_api_key",
        "max_concurrency",
        "requests_per_minute",
        "timeout_seconds",
        "rerun_schedule",
    ]

    def __init__(self, *args, can_schedule: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Only the workspace owner decides what Candor spends on its own.
        if not can_schedule:
            del self.fields["rerun_schedule"]

    def clean_rerun_schedule(self) -> str | None:
        return self.cleaned_data.get("rerun_schedule") or None


class JudgeProfileForm(_ApiKeyFields):
    name = forms.CharField(
        label="Name",
        max_length=120,
        widget=forms.TextInput(attrs={"placeholder": "e.g. Judge (GPT-4.1, pinned)"}),
    )
    api_kind = forms.ChoiceField(
        label="API kind", choices=ApiKind.choices, initial=ApiKind.OPENAI_CHAT
    )
    base_url = _base_url_field(
        "Up to the version path, e.g. https://api.openai.com/v1."
    )
    model_name = forms.CharField(
        label="Model name",
        max_length=120,
        help_text=(
            "Sent as it is: use the full pinned model id, e.g. gpt-4.1-2025-04-14. "
            "A judge that changes under you changes your grades."
        ),
    )
    pinned_version = forms.CharField(
        label="Pinned version",
        max_length=120,
        required=False,
        help_text=(
            "A note of the snapshot the model id pins, e.g. 2025-04-14, kept with "
            "the judge's grades. It is not sent; the model name is."
        ),
    )
    requests_per_minute = forms.IntegerField(
        label="Requests per minute",
        min_value=1,
        max_value=100_000,
        initial=60,
        help_text="Stay under your plan's limit; every run using this judge shares it.",
    )

    field_order = [
        "name",
        "api_kind",
        "base_url",
        "model_name",
        "pinned_version",
        "api_key",
        "clear_api_key",
        "requests_per_minute",
    ]


# --- Runs --------------------------------------------------------------------------


class RunForm(forms.Form):
    families = forms.MultipleChoiceField(
        label="Probe families",
        choices=(),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one probe family."},
    )
    repeats = forms.IntegerField(
        label="Repeats",
        min_value=1,
        max_value=10,
        initial=1,
        help_text=(
            "Each conversation is sent this many times. More repeats narrow the "
            "intervals and show how steady the model is."
        ),
    )
    fresh = forms.TypedChoiceField(
        label="Replies",
        choices=(
            ("", "Reuse saved replies to identical requests (no cost)"),
            ("1", "Fresh: call the model for every conversation"),
        ),
        coerce=bool,
        empty_value=False,
        required=False,
        initial="",
        widget=forms.RadioSelect,
    )
    budget_tokens = forms.IntegerField(
        label="Token budget",
        required=False,
        min_value=100,
        max_value=2_000_000_000,
        help_text="The run stops when it would use more. Leave blank for no cap.",
        widget=forms.NumberInput(attrs={"placeholder": "No cap", "step": 1000}),
    )
    judge = forms.ModelChoiceField(
        label="Judge",
        queryset=None,
        required=False,
        empty_label="No judge: judge-graded metrics show “not measured”",
        help_text="A separate model that grades what rules cannot.",
    )

    def __init__(self, *args, workspace, **kwargs) -> None:
        from evals.models import JudgeProfile
        from evals.probes import registry

        super().__init__(*args, **kwargs)
        self.family_list = registry.families()
        self.fields["families"].choices = [
            (family.key, family.title) for family in self.family_list
        ]
        self.fields["families"].initial = [family.key for family in self.family_list]
        self.fields["judge"].queryset = JudgeProfile.objects.filter(
            workspace=workspace
        ).order_by("name")

    def chosen_families(self) -> list[str]:
        """The families ticked so far, valid or not (for the live estimate)."""
        if not self.is_bound:
            return self.fields["families"].initial
        known = {family.key for family in self.family_list}
        return [key for key in self.data.getlist("families") if key in known]

    def chosen_repeats(self) -> int:
        """The repeats typed so far, kept within bounds (for the live estimate)."""
        try:
            repeats = int(self.data.get("repeats", 1)) if self.is_bound else 1
        except (TypeError, ValueError):
            return 1
        return min(max(repeats, 1), 10)

    def chosen_fresh(self) -> bool:
        """Whether a fresh run is chosen so far (for the live estimate)."""
        return self.is_bound and bool(self.data.get("fresh"))

    def chosen_judge(self):
        """The judge chosen so far, or None (for the live estimate)."""
        if not self.is_bound or not self.data.get("judge"):
            return None
        try:
            return self.fields["judge"].queryset.filter(pk=self.data["judge"]).first()
        except (TypeError, ValueError):
            return None
