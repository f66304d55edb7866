from django.urls import include, path

urlpatterns = [
    path("", include("accounts.urls")),
    path("", include("vendors.urls")),
    path("", include("assessments.urls")),
    path("", include("evals.urls")),
    path("", include("dashboards.urls")),
]

# The 403, 404 and 500 pages are Django's own views with Candor's templates.
handler400 = "config.errors.bad_request"
