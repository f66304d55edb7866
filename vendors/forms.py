from __future__ import annotations

from django import forms
from django.core.validators import MaxLengthValidator

from vendors.models import Offering, Vendor

# Notes are for a few paragraphs; a long document is better linked than pasted,
# and a pasted book would make every page that shows the notes slow.
NOTES_MAX_CHARS = 5000
WEBSITE_MAX_CHARS = 200


def _limit_length(field: forms.Field, limit: int, message: str) -> None:
    """Cap a text field's length, in the browser and on the server."""
    field.max_length = limit
    # Replaces the model's own check, whose wording says less.
    field.validators = [
        validator
        for validator in field.validators
        if not isinstance(validator, MaxLengthValidator)
    ]
    field.validators.append(MaxLengthValidator(limit, message=message))
    field.widget.attrs["maxlength"] = str(limit)


NOTES_TOO_LONG = (
    "Keep notes to %(limit_value)s characters (these have %(show_value)s). "
    "Link to a longer document instead of pasting it."
)
WEBSITE_TOO_LONG = (
    "A web address may have at most %(limit_value)s characters "
    "(this one has %(show_value)s); use the vendor's home page."
)


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

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _limit_length(self.fields["notes"], NOTES_MAX_CHARS, NOTES_TOO_LONG)
        _limit_length(self.fields["website"], WEBSITE_MAX_CHARS, WEBSITE_TOO_LONG)


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

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _limit_length(self.fields["notes"], NOTES_MAX_CHARS, NOTES_TOO_LONG)
