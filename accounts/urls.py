from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import views

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="accounts/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("workspace/members/", views.members, name="members"),
    path(
        "workspace/members/<int:pk>/role/",
        views.member_role_change,
        name="member_role_change",
    ),
    path(
        "workspace/members/<int:pk>/remove/",
        views.member_remove,
        name="member_remove",
    ),
    path("workspace/invitations/", views.invitation_create, name="invitation_create"),
    path(
        "workspace/invitations/<int:pk>/revoke/",
        views.invitation_revoke,
        name="invitation_revoke",
    ),
    path("workspace/switch/", views.workspace_switch, name="workspace_switch"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation_accept"),
]
