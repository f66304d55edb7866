from django.urls import path

from dashboards import views

urlpatterns = [
    path(
        "assessments/<int:pk>/dashboard/",
        views.assessment_dashboard,
        name="assessment_dashboard",
    ),
    path("assessments/<int:pk>/reports/", views.report_create, name="report_create"),
    path("reports/<int:pk>/", views.report_status, name="report_status"),
    path("reports/<int:pk>/download/", views.report_download, name="report_download"),
]
