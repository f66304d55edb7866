from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from accounts import selectors, services
from accounts.forms import InvitationForm, InvitedSignupForm, RoleForm, SignupForm
from accounts.models import Invitation, Membership
from accounts.permissions import current_workspace, owner_required
from accounts.services import InvitationUnusable, user_signup

MEMBERS_TEMPLATE = "accounts/members.html"


@sensitive_post_parameters("password1", "password2")
@login_not_required
@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    token = request.GET.get("invitation", "")
    if token:
        return _signup_invited(request, token)
    if request.user.is_authenticated:
        return redirect("vendor_list")

    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = user_signup(
            username=form.cleaned_data["username"],
            email=form.cleaned_data["email"],
            password=form.cleaned_data["password1"],
            workspace_name=form.cleaned_data["workspace_name"],
        )
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("vendor_list")

    return render(request, "accounts/signup.html", {"form": form})


def _signup_invited(request: HttpRequest, token: str) -> HttpResponse:
    """Sign up from an invitation link: the new person joins the inviting workspace.

    No workspace of their own is created: someone invited comes to work in the
    team that invited them, and an empty workspace beside it would only make
    them pick the right one in the switcher.
    """
    try:
        invitation = services.invitation_for_token(token)
    except InvitationUnusable as exc:
        return _invitation_unusable(request, exc)
    if request.user.is_authenticated:
        return redirect("invitation_accept", token=token)
    form = InvitedSignupForm(request.POST or None, initial={"email": invitation.email})

    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_signup_invited(
                username=form.cleaned_data["username"],
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password1"],
                token=token,
            )
        except InvitationUnusable as exc:
            return _invitation_unusable(request, exc)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return _invitation_accept_and_go(request, token)

    context = {"form": form, "invitation": invitation}
    return render(request, "accounts/signup.html", context)


# --- Invitations ----------------------------------------------------------------

UNUSABLE_STATUS = {"unknown": 404}


def _invitation_unusable(request: HttpRequest, exc: InvitationUnusable) -> HttpResponse:
    context = {"state": exc.state, "invitation": exc.invitation}
    status = UNUSABLE_STATUS.get(exc.state, 410)
    return render(request, "accounts/invitation_unusable.html", context, status=status)


def _invitation_accept_and_go(request: HttpRequest, token: str) -> HttpResponse:
    try:
        membership = services.invitation_accept(
            token=token, user=request.user, session=request.session
        )
    except InvitationUnusable as exc:
        return _invitation_unusable(request, exc)
    messages.success(
        request,
        f"Welcome to {membership.workspace.name}. You are "
        f"{membership.get_role_display().lower()} here.",
    )
    return redirect("vendor_list")


@login_not_required
@require_http_methods(["GET", "POST"])
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = services.invitation_for_token(token)
    except InvitationUnusable as exc:
        return _invitation_unusable(request, exc)

    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return _invitation_accept_and_go(request, token)

    is_member = (
        request.user.is_authenticated
        and Membership.objects.filter(
            user=request.user, workspace=invitation.workspace
        ).exists()
    )
    context = {
        "invitation": invitation,
        "is_member": is_member,
        "login_url": f"{reverse('login')}?next={request.path}",
        "signup_url": f"{reverse('signup')}?invitation={token}",
    }
    return render(request, "accounts/invitation_accept.html", context)


# --- Members ---------------------------------------------------------------------


def _get_membership_for_owner(request: HttpRequest, pk: int) -> Membership:
    return get_object_or_404(
        Membership.objects.select_related("user"),
        pk=pk,
        workspace=current_workspace(request),
    )


def _get_invitation_for_owner(request: HttpRequest, pk: int) -> Invitation:
    return get_object_or_404(Invitation, pk=pk, workspace=current_workspace(request))


def _members_render(
    request: HttpRequest, invite_form: InvitationForm | None = None, status: int = 200
) -> HttpResponse:
    workspace = current_workspace(request)
    context = {
        "workspace": workspace,
        "members": selectors.membership_list(workspace),
        "invitations": selectors.invitation_list_pending(workspace),
        "invite_form": invite_form or InvitationForm(),
        "roles": Membership.Role.choices,
    }
    template = MEMBERS_TEMPLATE
    if request.htmx:
        template += "#panel"
    return render(request, template, context, status=status)


def _members_done(request: HttpRequest) -> HttpResponse:
    """After a change: the panel again for htmx, a redirect for a plain form."""
    if request.htmx:
        return _members_render(request)
    return redirect("members")


@require_http_methods(["GET"])
@owner_required
def members(request: HttpRequest) -> HttpResponse:
    return _members_render(request)


@require_http_methods(["POST"])
@owner_required
def invitation_create(request: HttpRequest) -> HttpResponse:
    workspace = current_workspace(request)
    form = InvitationForm(request.POST)

    if form.is_valid():
        try:
            invitation = services.invitation_create(
                workspace=workspace,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                invited_by=request.user,
                link_for=lambda token: request.build_absolute_uri(
                    reverse("invitation_accept", args=[token])
                ),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request,
                f"Invitation sent to {invitation.email}. The link works once and "
                f"expires on {invitation.expires_at:%d %b %Y}.",
            )
            return _members_done(request)

    return _members_render(request, invite_form=form)


@require_http_methods(["POST"])
@owner_required
def invitation_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    invitation = _get_invitation_for_owner(request, pk)

    services.invitation_revoke(invitation=invitation, user=request.user)

    messages.success(request, f"The invitation to {invitation.email} no longer works.")
    return _members_done(request)


@require_http_methods(["POST"])
@owner_required
def member_role_change(request: HttpRequest, pk: int) -> HttpResponse:
    membership = _get_membership_for_owner(request, pk)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose owner, editor or viewer.")
        return _members_done(request)

    try:
        services.membership_role_change(
            membership=membership, role=form.cleaned_data["role"], user=request.user
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            f"{membership.user.get_username()} is now "
            f"{membership.get_role_display().lower()}.",
        )
    return _members_after_own_change(request, membership)


@require_http_methods(["POST"])
@owner_required
def member_remove(request: HttpRequest, pk: int) -> HttpResponse:
    membership = _get_membership_for_owner(request, pk)

    try:
        services.membership_remove(membership=membership, user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            f"{membership.user.get_username()} no longer belongs to "
            f"{membership.workspace.name}.",
        )
    return _members_after_own_change(request, membership)


def _members_after_own_change(
    request: HttpRequest, membership: Membership
) -> HttpResponse:
    """Leave the members page when a person stopped owning the workspace themselves."""
    still_owner = Membership.objects.filter(
        pk=request.membership.pk, role=Membership.Role.OWNER
    ).exists()
    if membership.user_id == request.user.pk and not still_owner:
        if request.htmx:
            return HttpResponseClientRedirect(reverse("vendor_list"))
        return redirect("vendor_list")
    return _members_done(request)


# --- Switching workspace ---------------------------------------------------------


@require_http_methods(["POST"])
def workspace_switch(request: HttpRequest) -> HttpResponse:
    try:
        workspace_id = int(request.POST.get("workspace", ""))
        membership = services.workspace_switch(
            user=request.user, workspace_id=workspace_id, session=request.session
        )
    except (ValueError, ValidationError):
        messages.error(request, "You are not a member of that workspace.")
        return redirect("vendor_list")

    messages.success(request, f"Now working in {membership.workspace.name}.")
    if request.htmx:
        return HttpResponseClientRedirect(reverse("vendor_list"))
    return redirect("vendor_list")
