from __future__ import annotations

from django import forms

from vendors.models import Offering, Vendor


class VendorForm(forms.ModelForm):
    class Meta:
        model = Vendor
        fields = ("name", "website", "notes")
        labels = {"name": "Vendor name"}
        help_texts = {
            "website": "Their home page, so anyone on your team can find them.",
            "notes": "Who you talk to there, what you are considering them for.",
        }
        widgets = {
            "name": forms.TextInput(attrs={"placeholder": "e.g. Anthropic"}),
            "website": forms.URLInput(attrs={"placeholder": "https://"}),
            "notes": forms.Textarea(attrs={"rows": 4}),
        }


class OfferingForm(forms.ModelForm):
    class Meta:
        model = Offering
        fields = ("name", "version", "notes")
        labels = {"name": "Model or product name"}
        help_texts = {
            "version": "The exact version or snapshot you would build on, if known.",
        }
        widgets = {
            "name": forms.TextInput(attrs={"placeholder": "e.g. Claude Sonnet"}),
            "version": forms.TextInput(attrs={"placeholder": "e.g. 2026-01-15"}),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }
