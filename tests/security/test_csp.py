"""Content security policy: scripts run only with the page's nonce, nothing inline."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from dashboards.pdf import report_html
from tests.security.url_cases import PUBLIC_URLS, URL_CASES
from tests.security.world import world_build

TEMPLATES = Path(settings.BASE_DIR) / "templates"
CSP_HEADER = "Content-Security-Policy"
DATA_TYPES = {"application/json", "application/ld+json"}
EVENT_ATTRIBUTE = re.compile(r"<[a-zA-Z][^>]*\son[a-z]+\s*=", re.DOTALL)
SCRIPT_TAG = re.compile(r"<script\b[^>]*>", re.IGNORECASE)
# The print page is rendered for Chromium to open from a file, outside any
# request: it has no policy and no nonce, and may only load its own files.
PRINT_TEMPLATES = TEMPLATES / "dashboards" / "print"


class ScriptFinder(HTMLParser):
    """Collects script tags, inline event handlers and javascript: links."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.handlers: list[str] = []
        self.javascript_urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "script":
            self.scripts.append(attributes)
        for name, value in attrs:
            if name.startswith("on") or name.startswith("hx-on"):
                self.handlers.append(f"<{tag} {name}=…>")
            if (value or "").strip().lower().startswith("javascript:"):
                self.javascript_urls.append(f"<{tag} {name}={value}>")


def _parse(html: str) -> ScriptFinder:
    finder = ScriptFinder()
    finder.feed(html)
    return finder


def _executable(scripts: list[dict]) -> list[dict]:
    return [s for s in scripts if (s.get("type") or "").lower() not in DATA_TYPES]


def _template_files() -> list[Path]:
    return sorted(TEMPLATES.rglob("*.html"))


@pytest.mark.parametrize(
    "path", _template_files(), ids=lambda path: str(path.relative_to(TEMPLATES))
)
def test_no_template_has_an_inline_handler_or_a_script_without_the_nonce(path):
    source = path.read_text()

    assert not EVENT_ATTRIBUTE.search(source), "an inline on…= event handler"
    assert "javascript:" not in source
    assert "hx-on" not in source, "hx-on runs inline code through eval"
    if PRINT_TEMPLATES not in path.parents:
        for tag in SCRIPT_TAG.findall(source):
            assert "csp_nonce" in tag or 'type="application/json"' in tag, tag


def _pages(world) -> list[tuple[Client, str]]:
    owner = Client()
    owner.force_login(world.owner)
    pages = [
        (owner, reverse(name, kwargs=case.kwargs(world) if case.kwargs else None))
        for name, case in URL_CASES.items()
        if case.get is not None
    ]
    for name, public in PUBLIC_URLS.items():
        if public.get:
            url = reverse(name, kwargs=public.kwargs(world) if public.kwargs else None)
            pages.append((Client(), url))
    return pages


def _script_src(response) -> str:
    policy = response[CSP_HEADER]
    return next(
        part for part in policy.split(";") if part.strip().startswith("script-src")
    )


def _header_nonce(response) -> str:
    """The nonce of the policy; Django adds it only when the page used it."""
    match = re.search(r"'nonce-([^']+)'", _script_src(response))
    return match.group(1) if match else ""


@pytest.mark.django_db
def test_every_page_sends_the_policy_and_runs_scripts_only_with_its_nonce():
    world = world_build()

    checked = []
    for client, url in _pages(world):
        response = client.get(url, follow=True)
        if response.streaming or not response["Content-Type"].startswith("text/html"):
            continue
        found = _parse(response.content.decode())
        nonce = _header_nonce(response)
        assert "'unsafe-inline'" not in _script_src(response), url
        for script in _executable(found.scripts):
            assert nonce and script.get("nonce") == nonce, f"{url}: {script}"
        assert not found.handlers, f"{url}: {found.handlers}"
        assert not found.javascript_urls, f"{url}: {found.javascript_urls}"
        checked.append(url)

    assert len(checked) >= 20


@pytest.mark.django_db
def test_each_response_gets_a_fresh_nonce():
    world = world_build()
    client = Client()
    client.force_login(world.owner)
    url = reverse("vendor_list")

    first, second = client.get(url), client.get(url)

    assert _header_nonce(first)
    assert _header_nonce(first) != _header_nonce(second)
    assert f'nonce="{_header_nonce(second)}"' in second.content.decode()


@pytest.mark.django_db
def test_the_policy_forbids_framing_plugins_and_foreign_forms():
    world = world_build()
    client = Client()
    client.force_login(world.owner)

    policy = client.get(reverse("vendor_list"))[CSP_HEADER]

    assert "frame-ancestors 'none'" in policy
    assert "object-src 'none'" in policy
    assert "form-action 'self'" in policy
    assert "base-uri 'self'" in policy


@pytest.mark.django_db
def test_the_print_page_runs_only_its_own_script_files():
    world = world_build()

    found = _parse(report_html(world.assessment))

    for script in _executable(found.scripts):
        assert (script.get("src") or "").startswith("file://"), script
    assert not found.handlers
    assert not found.javascript_urls
