from __future__ import annotations

from django import forms
from django.contrib.auth.forms import UserCreationForm


class SignupForm(UserCreationForm):
    email = forms.EmailField()
    workspace_name = forms.CharField(
        max_length=120,
        label="Company or team name",
        help_text="Your workspace: vendors and assessments you add belong to it.",
    )

    class Meta(UserCreationForm.Meta):
        fields = ("username", "email")
