from django.urls import path

from vendors import views

urlpatterns = [
    path("", views.home, name="home"),
    path("vendors/", views.vendor_list, name="vendor_list"),
    path("vendors/new/", views.vendor_create, name="vendor_create"),
    path("vendors/<int:pk>/", views.vendor_detail, name="vendor_detail"),
    path("vendors/<int:pk>/edit/", views.vendor_edit, name="vendor_edit"),
    path("vendors/<int:pk>/archive/", views.vendor_archive, name="vendor_archive"),
    path("vendors/<int:pk>/restore/", views.vendor_unarchive, name="vendor_unarchive"),
    path(
        "vendors/<int:pk>/offerings/new/",
        views.offering_create,
        name="offering_create",
    ),
    path("offerings/<int:pk>/", views.offering_detail, name="offering_detail"),
    path("offerings/<int:pk>/edit/", views.offering_edit, name="offering_edit"),
    path(
        "offerings/<int:pk>/archive/", views.offering_archive, name="offering_archive"
    ),
    path(
        "offerings/<int:pk>/restore/",
        views.offering_unarchive,
        name="offering_unarchive",
    ),
]
