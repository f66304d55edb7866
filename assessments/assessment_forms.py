from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model

from accounts.models import Membership, Workspace
from assessments.models import Assessment, Framework

CUSTOM_PROFILE = "custom"


def _writers(workspace: Workspace):
    """People who can fill in answers: the workspace's owners and editors."""
    return (
        get_user_model()
        .objects.filter(
            memberships__workspace=workspace,
            memberships__role__in=[Membership.Role.OWNER, Membership.Role.EDITOR],
        )
        .order_by("username")
        .distinct()
    )


class _OwnerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        full_name = obj.get_full_name()
        return (
            f"{full_name} ({obj.get_username()})" if full_name else obj.get_username()
        )


class AssessmentStartForm(forms.Form):
    profile = forms.ChoiceField(
        label="Use case",
        widget=forms.RadioSelect,
        help_text="Weighs the four pillars for how you would use the model.",
    )
    owner = _OwnerChoiceField(
        queryset=get_user_model().objects.none(),
        help_text="Who drives this assessment to a decision.",
    )
    due_date = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="When you need to decide. Optional.",
    )

    def __init__(self, *args, framework: Framework, workspace: Workspace, **kwargs):
        super().__init__(*args, **kwargs)
        self.framework = framework
        self.fields["profile"].choices = [
            (key, profile["label"]) for key, profile in framework.profiles_in_order()
        ]
        self.fields["owner"].queryset = _writers(workspace)
        custom = framework.profiles.get(CUSTOM_PROFILE, {}).get("weights", {})
        self.pillars = list(framework.pillars.order_by("order"))
        for pillar in self.pillars:
            self.fields[self.weight_field(pillar.key)] = forms.IntegerField(
                label=pillar.title,
                required=False,
                min_value=0,
                max_value=100,
                initial=round(custom.get(pillar.key, 25)),
                widget=forms.NumberInput(attrs={"step": 1, "inputmode": "numeric"}),
            )

    @staticmethod
    def weight_field(pillar_key: str) -> str:
        return f"weight_{pillar_key}"

    @property
    def weight_fields(self) -> list[forms.BoundField]:
        return [self[self.weight_field(pillar.key)] for pillar in self.pillars]

    def clean(self) -> dict:
        cleaned = super().clean()
        cleaned["custom_weights"] = {}
        if cleaned.get("profile") != CUSTOM_PROFILE:
            return cleaned
        weights = {}
        for pillar in self.pillars:
            name = self.weight_field(pillar.key)
            value = cleaned.get(name)
            if value is None and name not in self.errors:
                self.add_error(name, "Give this pillar a weight (0 leaves it out).")
            weights[pillar.key] = value or 0
        if not self.errors and not any(weights.values()):
            raise forms.ValidationError("At least one pillar needs a weight above 0.")
        cleaned["custom_weights"] = weights
        return cleaned


class AssessmentEditForm(forms.ModelForm):
    owner = _OwnerChoiceField(queryset=get_user_model().objects.none())

    class Meta:
        model = Assessment
        fields = ("status", "decision", "rationale", "due_date", "owner")
        labels = {"status": "Review state", "due_date": "Decide by"}
        help_texts = {
            "decision": "What you will do with this vendor's model.",
            "rationale": "Why: the evidence and trade-offs behind the decision, in a "
            "few sentences your team or an investor can follow.",
        }
        widgets = {
            "rationale": forms.Textarea(attrs={"rows": 5}),
            "due_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }

    def __init__(self, *args, workspace: Workspace, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = _writers(workspace)
        self.fields["owner"].required = False
