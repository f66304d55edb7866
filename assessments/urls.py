from django.urls import path

from assessments import views, views_evidence

urlpatterns: list = [
    path("evidence/", views_evidence.evidence_import, name="evidence_import"),
    path(
        "evidence/<int:pk>/",
        views_evidence.evidence_import_detail,
        name="evidence_import_detail",
    ),
    path(
        "offerings/<int:pk>/assessments/new/",
        views.assessment_create,
        name="assessment_create",
    ),
    path("assessments/<int:pk>/", views.assessment_detail, name="assessment_detail"),
    path(
        "assessments/<int:pk>/answers/<slug:question_key>/",
        views.answer_save,
        name="answer_save",
    ),
    path("assessments/<int:pk>/edit/", views.assessment_edit, name="assessment_edit"),
    path(
        "assessments/<int:pk>/reopen/",
        views.assessment_reopen,
        name="assessment_reopen",
    ),
]
