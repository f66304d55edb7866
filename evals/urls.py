from django.urls import path

from evals import views_endpoints, views_runs

urlpatterns: list = [
    # --- Endpoints and judges
    path(
        "offerings/<int:pk>/endpoint/",
        views_endpoints.endpoint_edit,
        name="endpoint_edit",
    ),
    path(
        "offerings/<int:pk>/endpoint/test/",
        views_endpoints.endpoint_test,
        name="endpoint_test",
    ),
    path("judges/", views_endpoints.judge_list, name="judge_list"),
    path("judges/new/", views_endpoints.judge_create, name="judge_create"),
    path("judges/<int:pk>/edit/", views_endpoints.judge_edit, name="judge_edit"),
    # --- Runs
    path("offerings/<int:pk>/runs/", views_runs.run_list, name="run_list"),
    path("offerings/<int:pk>/runs/new/", views_runs.run_create, name="run_create"),
    path("runs/<int:pk>/", views_runs.run_detail, name="run_detail"),
    path("runs/<int:pk>/progress/", views_runs.run_progress, name="run_progress"),
    path("runs/<int:pk>/cancel/", views_runs.run_cancel, name="run_cancel"),
    path("samples/<int:pk>/", views_runs.sample_detail, name="sample_detail"),
]
