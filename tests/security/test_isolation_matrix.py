"""Every URL × every role: isolation between workspaces and roles on every write.

For each URL pattern of the project (walked from the resolver, so a new URL
cannot be forgotten) and each method it accepts:
- an anonymous person is sent to the login page;
- a person of another workspace gets 404 on an object of workspace A, and a
  workspace page shows them nothing of A's;
- a member below the role the method needs gets 403; one at or above it gets
  neither 403 nor 404;
- a method the view does not take answers 405;
- every refused request leaves every row as it was.
The number of checks is printed in the terminal summary.
"""

from __future__ import annotations

from collections import Counter

import pytest
from django.apps import apps
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from evals.models import Endpoint
from tests.factories import MembershipFactory, OfferingFactory, VendorFactory
from tests.security.url_cases import PUBLIC_URLS, ROLE_RANK, URL_CASES, UrlCase
from tests.security.world import MARKER, PRIVATE_NOTE, World, world_build

pytestmark = pytest.mark.django_db

# Checks run, by kind; the terminal summary (tests/security/conftest.py) prints them.
CHECKS: Counter = Counter()

PROJECT_APPS = ("accounts", "vendors", "assessments", "evals", "dashboards")
HTMX = {"HTTP_HX_REQUEST": "true"}


def url_pattern_names() -> dict[str, str]:
    """Every named URL pattern of the project, with its route, walked recursively."""
    found: dict[str, str] = {}

    def walk(patterns, prefix: str, namespace: str) -> None:
        for entry in patterns:
            route = prefix + str(entry.pattern)
            if isinstance(entry, URLResolver):
                inner = entry.namespace or ""
                walk(
                    entry.url_patterns,
                    route,
                    f"{namespace}{inner}:" if inner else namespace,
                )
            elif isinstance(entry, URLPattern):
                found[f"{namespace}{entry.name}" if entry.name else f"<{route}>"] = (
                    route
                )

    walk(get_resolver().url_patterns, "/", "")
    return found


ALL_URLS = url_pattern_names()


def test_every_url_pattern_has_a_case():
    missing = sorted(
        f"{name} ({route})"
        for name, route in ALL_URLS.items()
        if name not in URL_CASES and name not in PUBLIC_URLS
    )

    assert not missing, (
        "These URLs have no isolation case; add each to URL_CASES in "
        "tests/security/url_cases.py (or to PUBLIC_URLS with the reason it needs "
        "no login): " + ", ".join(missing)
    )


def test_every_case_names_a_url_that_exists():
    stale = sorted((set(URL_CASES) | set(PUBLIC_URLS)) - set(ALL_URLS))

    assert not stale, f"Cases for URLs that no longer exist: {', '.join(stale)}"


def _rows() -> dict[str, list[tuple]]:
    """Every row of Candor's own tables, to prove a refused request wrote nothing."""
    return {
        model._meta.label: list(model.objects.order_by("pk").values_list())
        for app in PROJECT_APPS
        for model in apps.get_app_config(app).get_models()
    }


def _client(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _send(client: Client, method: str, url: str, data: dict, **headers):
    if method == "GET":
        return client.get(url, **headers)
    return client.post(url, data, **headers)


class Matrix:
    """Runs the checks of one URL and collects what went wrong."""

    def __init__(self, name: str, case: UrlCase, world: World) -> None:
        self.name = name
        self.case = case
        self.world = world
        self.url = reverse(name, kwargs=case.kwargs(world) if case.kwargs else None)
        self.data = case.data(world)
        self.problems: list[str] = []

    def refused(self, who, method: str, expected: int, kind: str, **headers) -> None:
        before = _rows()
        response = _send(_client(who), method, self.url, self.data, **headers)
        CHECKS[kind] += 1
        label = f"{kind} {method}{' htmx' if headers else ''} {self.url}"
        if response.status_code != expected:
            self.problems.append(f"{label}: {response.status_code}, not {expected}")
        elif expected == 302 and not response["Location"].startswith(reverse("login")):
            self.problems.append(f"{label}: sent to {response['Location']}")
        if _rows() != before:
            self.problems.append(f"{label}: refused, yet rows changed")

    def allowed(self, who, method: str, kind: str) -> None:
        response = _send(_client(who), method, self.url, self.data)
        CHECKS[kind] += 1
        if response.status_code in (403, 404, 405) or response.status_code >= 500:
            self.problems.append(
                f"{kind} {method} {self.url}: {response.status_code}, expected access"
            )

    def outsider_sees_own_workspace(self) -> None:
        response = _client(self.world.outsider).get(self.url)
        CHECKS["outsider workspace page"] += 1
        body = response.content.decode(errors="replace")
        if response.status_code >= 400:
            self.problems.append(f"outsider GET {self.url}: {response.status_code}")
        if MARKER in body:
            self.problems.append(f"outsider GET {self.url}: shows workspace A's data")


@pytest.mark.parametrize("name", sorted(ALL_URLS))
def test_url_is_isolated_by_workspace_and_role(name):
    if name in PUBLIC_URLS:
        _check_public(name)
        return
    case = URL_CASES.get(name)
    if case is None:
        pytest.fail(
            f"No isolation case for URL {name!r}; see tests/security/url_cases.py"
        )
    matrix = Matrix(name, case, world_build())
    world = matrix.world

    for method, access in case.methods().items():
        matrix.refused(None, method, 302, "anonymous")
        if case.is_object_url:
            matrix.refused(world.outsider, method, 404, "outsider")
            matrix.refused(world.outsider, method, 404, "outsider", **HTMX)
        elif method == "GET":
            matrix.outsider_sees_own_workspace()
        for role, rank in ROLE_RANK.items():
            if rank < access:
                matrix.refused(world.user(role), method, 403, role)
                matrix.refused(world.user(role), method, 403, role, **HTMX)
    for method, access in case.methods().items():
        for role, rank in ROLE_RANK.items():
            if rank >= access:
                matrix.allowed(world.user(role), method, role)
    for method in {"GET", "POST"} - set(case.methods()):
        matrix.refused(world.owner, method, 405, "wrong method")

    assert not matrix.problems, "\n".join(matrix.problems)


def _check_public(name: str) -> None:
    public = PUBLIC_URLS[name]
    world = world_build()
    url = reverse(name, kwargs=public.kwargs(world) if public.kwargs else None)
    problems = []

    for method in ("GET", "POST"):
        if not getattr(public, method.lower()):
            response = _client().generic(method, url)
            CHECKS["wrong method"] += 1
            if response.status_code != 405:
                problems.append(f"anonymous {method} {url}: {response.status_code}")
            continue
        response = _send(_client(), method, url, public.data(world))
        CHECKS["public"] += 1
        body = response.content.decode(errors="replace")
        if response.status_code >= 400:
            problems.append(f"anonymous {method} {url}: {response.status_code}")
        if PRIVATE_NOTE in body:
            problems.append(f"anonymous {method} {url}: shows a private note")

    assert not problems, "\n".join(problems)


def test_switching_to_a_workspace_one_is_not_a_member_of_changes_nothing():
    world = world_build()
    client = _client(world.outsider)

    client.post(reverse("workspace_switch"), {"workspace": world.workspace.pk})
    response = client.get(reverse("vendor_list"))

    assert response.status_code == 200
    assert MARKER not in response.content.decode()


def test_a_form_cannot_point_at_another_workspaces_people_or_judges():
    world = world_build()
    own_workspace = world.outsider.memberships.get().workspace
    own_offering = OfferingFactory(vendor=VendorFactory(workspace=own_workspace))
    Endpoint.objects.create(
        offering=own_offering,
        api_kind="openai_chat",
        base_url="https://192.0.2.12/v1",
        model_name="m",
    )
    client = _client(world.outsider)
    before = _rows()

    started = client.post(
        reverse("assessment_create", args=[own_offering.pk]),
        {"profile": "customer_facing", "owner": world.owner.pk},
    )
    run = client.post(
        reverse("run_create", args=[own_offering.pk]),
        {"families": ["pushback"], "repeats": 1, "fresh": "0", "judge": world.judge.pk},
    )

    assert started.status_code == 200
    assert run.status_code == 200
    assert "Select a valid choice" in started.content.decode()
    assert "Select a valid choice" in run.content.decode()
    assert _rows() == before


def test_the_health_check_is_public_and_tells_nothing_private(settings):
    # /healthz is answered by middleware before URL routing, so the walk above
    # does not see it: load balancers probe it without a login.
    settings.REDIS_URL = "redis://:hunter2-redis-password@127.0.0.1:1/0"
    world = world_build()

    response = _client().get("/healthz")

    CHECKS["public"] += 1
    body = response.content.decode()
    assert response.status_code in (200, 503)
    assert "hunter2" not in body
    assert MARKER not in body
    assert world.owner.username not in body


def test_a_member_of_two_workspaces_reaches_each_only_while_it_is_current():
    world = world_build()
    second = MembershipFactory(user=world.viewer, role="owner").workspace
    other_vendor = VendorFactory(workspace=second)
    client = _client(world.viewer)
    a_vendor = reverse("vendor_detail", args=[world.vendor.pk])
    b_vendor = reverse("vendor_detail", args=[other_vendor.pk])

    in_a = (client.get(a_vendor).status_code, client.get(b_vendor).status_code)
    client.post(reverse("workspace_switch"), {"workspace": second.pk})
    in_b = (client.get(a_vendor).status_code, client.get(b_vendor).status_code)
    written_in_b = client.post(reverse("vendor_archive", args=[world.vendor.pk]))

    assert in_a == (200, 404)
    assert in_b == (404, 200)
    # Owner of B, viewer of A: B's role must not carry over to A's objects.
    assert written_in_b.status_code == 404
    world.vendor.refresh_from_db()
    assert not world.vendor.is_archived
