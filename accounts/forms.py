from __future__ import annotations

from django import forms
from django.contrib.auth.forms import UserCreationForm

from accounts.models import Membership


class SignupForm(UserCreationForm):
    email = forms.EmailField()
    workspace_name = forms.CharField(
        max_length=120,
        label="Company or team name",
        help_text="Your workspace: vendors and assessments you add belong to it.",
    )

    class Meta(UserCreationForm.Meta):
        fields = ("username", "email")


class InvitedSignupForm(UserCreationForm):
    """Sign-up from an invitation: the person joins the inviting workspace."""

    email = forms.EmailField()

    class Meta(UserCreationForm.Meta):
        fields = ("username", "email")


class InvitationForm(forms.Form):
    email = forms.EmailField(label="Email address")
    role = forms.ChoiceField(
        choices=Membership.Role.choices,
        initial=Membership.Role.EDITOR,
        help_text="Editors answer questions and start runs; viewers read "
        "dashboards and download reports; owners also manage members.",
    )


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Membership.Role.choices)
