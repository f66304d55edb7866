from __future__ import annotations

from django import forms
from django.conf import settings

from assessments.services import VENDOR_LINK_MAX_DAYS


class VendorLinkForm(forms.Form):
    contact_name = forms.CharField(
        max_length=120, required=False, label="Contact's name (optional)"
    )
    contact_email = forms.EmailField(
        required=False,
        label="Contact's email (optional)",
        help_text="For your records: Candor sends nothing to it. Share the link "
        "yourself.",
    )
    days = forms.IntegerField(
        min_value=1,
        max_value=VENDOR_LINK_MAX_DAYS,
        label="Link works for (days)",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["days"].initial = settings.CANDOR_VENDOR_LINK_DAYS
