"""Forms of the public-evidence import; the questionnaire's are in assessment_forms."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat

from assessments.public_evidence import FmtiFile, FmtiFiles

MAX_REPORT_FILES = 50
# A hint for the browser's file picker; the server checks names and sizes itself.
CSV_ATTRS = {"accept": ".csv,text/csv"}


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """A file field that accepts several files and cleans each one."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None) -> list[UploadedFile]:
        clean_one = super().clean
        if isinstance(data, list | tuple):
            return [clean_one(item, initial) for item in data]
        cleaned = clean_one(data, initial)
        return [cleaned] if cleaned else []


def _checked_csv(upload: UploadedFile) -> FmtiFile:
    """Refuse anything but a .csv file within the size limit; return its bytes."""
    limit = settings.CANDOR_MAX_IMPORT_BYTES
    name = upload.name or "(unnamed file)"
    if not name.lower().endswith(".csv"):
        raise forms.ValidationError(
            "“%(name)s” is not a .csv file. Upload the index's CSV files as published.",
            params={"name": name},
            code="not_csv",
        )
    if upload.size > limit:
        raise forms.ValidationError(
            "“%(name)s” is %(size)s; each file may be at most %(limit)s.",
            params={
                "name": name,
                "size": filesizeformat(upload.size),
                "limit": filesizeformat(limit),
            },
            code="too_big",
        )
    if upload.size == 0:
        raise forms.ValidationError(
            "“%(name)s” is empty.", params={"name": name}, code="empty"
        )
    return FmtiFile(name=name, content=upload.read())


class EvidenceImportForm(forms.Form):
    indicators = forms.FileField(
        label="Indicators file",
        allow_empty_file=True,  # refused below, with the file's name
        help_text="indicators.csv: one row per indicator.",
        widget=forms.FileInput(attrs=CSV_ATTRS),
    )
    scores = forms.FileField(
        label="Scores file",
        allow_empty_file=True,
        help_text="scores.csv: one row per indicator, one column per developer.",
        widget=forms.FileInput(attrs=CSV_ATTRS),
    )
    reports = MultipleFileField(
        label="Developer reports (optional)",
        help_text=(
            "One CSV per developer, named after it (for example Anthropic.csv). "
            "Reports add the index's justification and sources to pre-filled answers."
        ),
        required=False,
        allow_empty_file=True,
        widget=MultipleFileInput(attrs=CSV_ATTRS),
    )

    def clean_indicators(self) -> FmtiFile:
        return _checked_csv(self.cleaned_data["indicators"])

    def clean_scores(self) -> FmtiFile:
        return _checked_csv(self.cleaned_data["scores"])

    def clean_reports(self) -> list[FmtiFile]:
        uploads = self.cleaned_data["reports"]
        if len(uploads) > MAX_REPORT_FILES:
            raise forms.ValidationError(
                "Upload at most %(limit)s reports at a time.",
                params={"limit": MAX_REPORT_FILES},
                code="too_many",
            )
        errors: list[forms.ValidationError] = []
        files: list[FmtiFile] = []
        for upload in uploads:
            try:
                files.append(_checked_csv(upload))
            except forms.ValidationError as error:
                errors.append(error)
        if errors:
            raise forms.ValidationError(errors)
        return files

    def fmti_files(self) -> FmtiFiles:
        """The validated uploads, ready for the importer."""
        return FmtiFiles(
            indicators=self.cleaned_data["indicators"],
            scores=self.cleaned_data["scores"],
            reports=tuple(self.cleaned_data["reports"]),
        )
