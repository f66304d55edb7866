from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from accounts.permissions import current_workspace, write_required
from vendors import selectors, services
from vendors.forms import OfferingForm, VendorForm
from vendors.models import Offering, Vendor

VENDORS_PER_PAGE = 25


def _get_vendor_for_user(request: HttpRequest, pk: int) -> Vendor:
    return get_object_or_404(Vendor, pk=pk, workspace=current_workspace(request))


def _get_offering_for_user(request: HttpRequest, pk: int) -> Offering:
    return get_object_or_404(
        Offering.objects.select_related("vendor"),
        pk=pk,
        vendor__workspace=current_workspace(request),
    )


def _show_archived(request: HttpRequest) -> bool:
    return request.GET.get("archived") == "1"


def _page_query(q: str, show_archived: bool) -> str:
    """The list's search and filter, for links to its other pages."""
    params = {"q": q} if q else {}
    if show_archived:
        params["archived"] = "1"
    return urlencode(params)


def _redirect(request: HttpRequest, to) -> HttpResponse:
    """Redirect after a write; htmx follows a client-side redirect instead."""
    url = to if isinstance(to, str) else to.get_absolute_url()
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


@require_http_methods(["GET"])
def home(request: HttpRequest) -> HttpResponse:
    return redirect("vendor_list")


@require_http_methods(["GET"])
def vendor_list(request: HttpRequest) -> HttpResponse:
    workspace = current_workspace(request)
    q = request.GET.get("q", "").strip()
    show_archived = _show_archived(request)

    # A page at a time keeps the list fast for a portfolio of hundreds of
    # vendors; the search box finds any of them.
    page = Paginator(
        selectors.vendor_queryset(workspace, q=q, include_archived=show_archived),
        VENDORS_PER_PAGE,
    ).get_page(request.GET.get("page"))
    vendors = list(page.object_list)
    selectors.vendor_latest_attach(vendors)

    archived_count = selectors.vendor_archived_count(workspace)
    context = {
        "vendors": vendors,
        "page": page,
        "page_query": _page_query(q, show_archived),
        "q": q,
        "show_archived": show_archived,
        "archived_count": archived_count,
        # A new workspace gets the first steps instead of an empty search box.
        "has_vendors": bool(page.paginator.count or q or archived_count),
        "can_write": request.membership.can_write,
    }
    template = "vendors/vendor_list.html"
    if request.htmx:
        template += "#vendor-table"
    return render(request, template, context)


@require_http_methods(["GET", "POST"])
@write_required
def vendor_create(request: HttpRequest) -> HttpResponse:
    workspace = current_workspace(request)
    form = VendorForm(request.POST or None)

    if request.method == "POST" and form.is_valid():
        try:
            vendor = services.vendor_create(
                workspace=workspace, user=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request, f"{vendor.name} added. Next, add the model you would use."
            )
            return _redirect(request, vendor)

    template = "vendors/vendor_form.html"
    if request.htmx:
        template += "#form"
    return render(request, template, {"form": form, "vendor": None})


@require_http_methods(["GET"])
def vendor_detail(request: HttpRequest, pk: int) -> HttpResponse:
    vendor = _get_vendor_for_user(request, pk)
    show_archived = _show_archived(request)

    offerings = selectors.offering_list_for_vendor(
        vendor, include_archived=show_archived
    )

    context = {
        "vendor": vendor,
        "offerings": offerings,
        "show_archived": show_archived,
        "archived_count": selectors.offering_archived_count(vendor),
        "can_write": request.membership.can_write,
    }
    template = "vendors/vendor_detail.html"
    if request.htmx:
        template += "#offerings"
    return render(request, template, context)


@require_http_methods(["GET", "POST"])
@write_required
def vendor_edit(request: HttpRequest, pk: int) -> HttpResponse:
    vendor = _get_vendor_for_user(request, pk)
    # Binding a form copies typed values onto the instance; the page title and
    # breadcrumbs keep the saved name.
    saved_name = vendor.name
    form = VendorForm(request.POST or None, instance=vendor)

    if request.method == "POST" and form.is_valid():
        try:
            services.vendor_update(
                vendor=vendor, user=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "Vendor saved.")
            return _redirect(request, vendor)

    template = "vendors/vendor_form.html"
    if request.htmx:
        template += "#form"
    context = {"form": form, "vendor": vendor, "saved_name": saved_name}
    return render(request, template, context)


@require_http_methods(["POST"])
@write_required
def vendor_archive(request: HttpRequest, pk: int) -> HttpResponse:
    vendor = _get_vendor_for_user(request, pk)

    services.vendor_archive(vendor=vendor, user=request.user)

    messages.success(
        request, f"{vendor.name} archived. It is hidden from lists; you can restore it."
    )
    return _redirect(request, vendor)


@require_http_methods(["POST"])
@write_required
def vendor_unarchive(request: HttpRequest, pk: int) -> HttpResponse:
    vendor = _get_vendor_for_user(request, pk)

    services.vendor_unarchive(vendor=vendor, user=request.user)

    messages.success(request, f"{vendor.name} restored.")
    return _redirect(request, vendor)


@require_http_methods(["GET", "POST"])
@write_required
def offering_create(request: HttpRequest, pk: int) -> HttpResponse:
    vendor = _get_vendor_for_user(request, pk)
    form = OfferingForm(request.POST or None)

    if request.method == "POST" and form.is_valid():
        try:
            offering = services.offering_create(
                vendor=vendor, user=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request, f"{offering} added. Start an assessment when you are ready."
            )
            return _redirect(request, offering)

    template = "vendors/offering_form.html"
    if request.htmx:
        template += "#form"
    return render(request, template, {"form": form, "vendor": vendor, "offering": None})


@require_http_methods(["GET"])
def offering_detail(request: HttpRequest, pk: int) -> HttpResponse:
    offering = _get_offering_for_user(request, pk)

    assessments = selectors.assessment_list_for_offering(offering)

    context = {
        "offering": offering,
        "vendor": offering.vendor,
        "assessments": assessments,
        "can_write": request.membership.can_write,
    }
    template = "vendors/offering_detail.html"
    if request.htmx:
        template += "#assessments"
    return render(request, template, context)


@require_http_methods(["GET", "POST"])
@write_required
def offering_edit(request: HttpRequest, pk: int) -> HttpResponse:
    offering = _get_offering_for_user(request, pk)
    saved_name = str(offering)
    form = OfferingForm(request.POST or None, instance=offering)

    if request.method == "POST" and form.is_valid():
        try:
            services.offering_update(
                offering=offering, user=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "Offering saved.")
            return _redirect(request, offering)

    template = "vendors/offering_form.html"
    if request.htmx:
        template += "#form"
    context = {
        "form": form,
        "vendor": offering.vendor,
        "offering": offering,
        "saved_name": saved_name,
    }
    return render(request, template, context)


@require_http_methods(["POST"])
@write_required
def offering_archive(request: HttpRequest, pk: int) -> HttpResponse:
    offering = _get_offering_for_user(request, pk)

    services.offering_archive(offering=offering, user=request.user)

    messages.success(
        request, f"{offering} archived. Its assessments stay; you can restore it."
    )
    return _redirect(request, offering.vendor)


@require_http_methods(["POST"])
@write_required
def offering_unarchive(request: HttpRequest, pk: int) -> HttpResponse:
    offering = _get_offering_for_user(request, pk)

    services.offering_unarchive(offering=offering, user=request.user)

    messages.success(request, f"{offering} restored.")
    return _redirect(request, offering)
