from django.urls import include, path

urlpatterns = [
    path("", include("accounts.urls")),
    path("", include("vendors.urls")),
    path("", include("assessments.urls")),
    path("", include("evals.urls")),
    path("", include("dashboards.urls")),
]
