from django.urls import path

from assessments import views, views_evidence, views_vendor

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
    path(
        "assessments/<int:pk>/answers/<slug:question_key>/history/",
        views.answer_history,
        name="answer_history",
    ),
    path("assessments/<int:pk>/edit/", views.assessment_edit, name="assessment_edit"),
    path(
        "assessments/<int:pk>/reopen/",
        views.assessment_reopen,
        name="assessment_reopen",
    ),
]

urlpatterns += [
    path(
        "assessments/<int:pk>/vendor-links/",
        views_vendor.vendor_links,
        name="vendor_links",
    ),
    path(
        "assessments/<int:pk>/vendor-links/new/",
        views_vendor.vendor_link_create,
        name="vendor_link_create",
    ),
    path(
        "assessments/<int:pk>/vendor-links/<int:link_pk>/revoke/",
        views_vendor.vendor_link_revoke,
        name="vendor_link_revoke",
    ),
    path(
        "assessments/<int:pk>/vendor-answers/<int:response_pk>/accept/",
        views_vendor.vendor_response_accept,
        name="vendor_response_accept",
    ),
    path(
        "assessments/<int:pk>/vendor-answers/<int:response_pk>/follow-up/",
        views_vendor.vendor_response_follow_up,
        name="vendor_response_follow_up",
    ),
    # The vendor contact's pages: no account, no workspace, the token is the key.
    path("v/<str:token>/", views_vendor.vendor_portal, name="vendor_portal"),
    path(
        "v/<str:token>/questions/<slug:question_key>/",
        views_vendor.vendor_portal_answer,
        name="vendor_portal_answer",
    ),
]
