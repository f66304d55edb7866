"""Endpoint settings, the connection test, and judge profiles."""

from __future__ import annotations

import html
import logging
import socket

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ValidationError
from django.urls import reverse

from evals import services
from evals.crypto import secret_decrypt
from evals.models import Endpoint, JudgeProfile
from tests.factories import (
    EndpointFactory,
    JudgeProfileFactory,
    OfferingFactory,
    VendorFactory,
)

pytestmark = pytest.mark.django_db

API_KEY = "sk-live-VIEWTEST-5a6b7c8d9e0f"
NEW_KEY = "sk-live-ROTATED-1122334455"


def _login_url(url: str) -> str:
    return f"{reverse('login')}?next={url}"


def _closed_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


@pytest.fixture
def offering(workspace):
    vendor = VendorFactory(workspace=workspace, name="Northwind AI")
    return OfferingFactory(vendor=vendor, name="Northwind Chat", version="3.1")


@pytest.fixture
def foreign_offering(outsider):
    vendor = VendorFactory(workspace=outsider.memberships.get().workspace)
    return OfferingFactory(vendor=vendor)


@pytest.fixture
def endpoint(offering):
    return EndpointFactory(
        offering=offering,
        api_key=API_KEY,
        base_url="https://api.northwind.example/v1",
        model_name="northwind-chat-3.1",
    )


@pytest.fixture
def simulated_endpoint(offering, simulated_vendor):
    return EndpointFactory(
        offering=offering,
        api_key=API_KEY,
        base_url=simulated_vendor.url,
        model_name="candid",
        is_simulated=True,
    )


def _form(**changes) -> dict:
    data = {
        "api_kind": "openai_chat",
        "base_url": "https://api.northwind.example/v1",
        "model_name": "northwind-chat-3.1",
        "api_key": API_KEY,
        "max_concurrency": "8",
        "requests_per_minute": "120",
        "timeout_seconds": "60",
    }
    data.update(changes)
    return data


# --- Endpoint settings ---------------------------------------------------------


class TestEndpointEdit:
    def url(self, offering) -> str:
        return reverse("endpoint_edit", args=[offering.pk])

    def test_a_new_endpoint_is_saved_with_its_key_encrypted(
        self, owner_client, offering
    ):
        response = owner_client.post(self.url(offering), _form())

        assert response.status_code == 302
        assert response.url == offering.get_absolute_url()
        endpoint = Endpoint.objects.get(offering=offering)
        assert (endpoint.base_url, endpoint.model_name) == (
            "https://api.northwind.example/v1",
            "northwind-chat-3.1",
        )
        assert (endpoint.requests_per_minute, endpoint.is_simulated) == (120, False)
        assert API_KEY not in endpoint.api_key_encrypted
        assert secret_decrypt(endpoint.api_key_encrypted) == API_KEY

    def test_the_page_after_saving_never_shows_the_key(self, owner_client, offering):
        owner_client.post(self.url(offering), _form())

        response = owner_client.get(self.url(offering))

        page = response.content.decode()
        assert response.status_code == 200
        assert API_KEY not in page
        assert "A key is stored; leave blank to keep it." in page
        assert 'value="northwind-chat-3.1"' in page

    def test_a_blank_key_keeps_the_stored_one(self, owner_client, endpoint):
        response = owner_client.post(
            self.url(endpoint.offering), _form(api_key="", model_name="nw-3.2")
        )

        endpoint.refresh_from_db()
        assert response.status_code == 302
        assert endpoint.model_name == "nw-3.2"
        assert secret_decrypt(endpoint.api_key_encrypted) == API_KEY

    def test_a_new_key_replaces_the_stored_one(self, owner_client, endpoint):
        owner_client.post(self.url(endpoint.offering), _form(api_key=NEW_KEY))

        endpoint.refresh_from_db()
        assert secret_decrypt(endpoint.api_key_encrypted) == NEW_KEY

    def test_the_stored_key_can_be_removed(self, owner_client, endpoint):
        owner_client.post(
            self.url(endpoint.offering), _form(api_key="", clear_api_key="on")
        )

        endpoint.refresh_from_db()
        assert endpoint.api_key_encrypted == ""

    def test_without_an_encryption_key_saving_a_key_is_refused_clearly(
        self, owner_client, offering, settings
    ):
        settings.CANDOR_ENCRYPTION_KEY = []

        response = owner_client.post(self.url(offering), _form())

        page = response.content.decode()
        assert response.status_code == 200
        assert "the operator has not set CANDOR_ENCRYPTION_KEY" in page
        assert 'value="https://api.northwind.example/v1"' in page
        assert API_KEY not in page
        assert not Endpoint.objects.filter(offering=offering).exists()

    @pytest.mark.parametrize(
        ("base_url", "says"),
        [
            ("http://169.254.169.254/latest", "cloud metadata address"),
            ("http://metadata.google.internal/v1", "cloud metadata host"),
            ("http://[fe80::1]/v1", "link-local address"),
        ],
    )
    def test_a_forbidden_address_is_refused_before_saving(
        self, owner_client, offering, base_url, says
    ):
        response = owner_client.post(self.url(offering), _form(base_url=base_url))

        assert response.status_code == 200
        assert says in response.content.decode()
        assert not Endpoint.objects.filter(offering=offering).exists()

    def test_a_private_address_is_refused_unless_the_operator_allows_it(
        self, owner_client, offering, settings
    ):
        settings.CANDOR_ENDPOINT_ALLOW_PRIVATE = False
        refused = owner_client.post(
            self.url(offering), _form(base_url="http://127.0.0.1:11434/v1")
        )
        settings.CANDOR_ENDPOINT_ALLOW_PRIVATE = True
        allowed = owner_client.post(
            self.url(offering), _form(base_url="http://127.0.0.1:11434/v1")
        )

        assert refused.status_code == 200
        assert "CANDOR_ENDPOINT_ALLOW_PRIVATE" in refused.content.decode()
        assert allowed.status_code == 302

    def test_invalid_values_are_explained_and_what_was_typed_is_kept(
        self, owner_client, offering
    ):
        response = owner_client.post(
            self.url(offering),
            _form(base_url="ftp://files.example", max_concurrency="0"),
        )

        page = response.content.decode()
        assert response.status_code == 200
        assert "Enter a valid URL." in page
        assert "greater than or equal to 1" in page
        assert 'value="ftp://files.example"' in page
        assert API_KEY not in page
        assert not Endpoint.objects.filter(offering=offering).exists()

    def test_an_invalid_url_is_explained_once(self, owner_client, offering):
        response = owner_client.post(self.url(offering), _form(base_url="not a url"))

        assert response.content.decode().count("Enter a valid URL.") == 1

    def test_a_base_url_with_a_password_is_refused_without_echoing_it(
        self, owner_client, offering
    ):
        response = owner_client.post(
            self.url(offering), _form(base_url="http://user:hunter2@api.example.com/v1")
        )

        page = response.content.decode()
        assert response.status_code == 200
        assert "Leave the user name and password out of the base URL" in page
        assert "hunter2" not in page
        assert not Endpoint.objects.filter(offering=offering).exists()

    def test_the_service_refuses_a_base_url_with_a_password(self, offering, owner):
        with pytest.raises(ValidationError) as refused:
            services.endpoint_save(
                **{
                    **_form(base_url="http://user:hunter2@api.example.com/v1"),
                    "offering": offering,
                    "user": owner,
                }
            )

        assert "hunter2" not in str(refused.value)

    def test_new_key_and_remove_together_are_refused(self, owner_client, endpoint):
        response = owner_client.post(
            self.url(endpoint.offering), _form(clear_api_key="on")
        )

        assert response.status_code == 200
        assert "Either enter a new key or remove the stored one" in (
            response.content.decode()
        )

    def test_moving_a_simulated_endpoint_elsewhere_drops_the_simulated_label(
        self, owner_client, simulated_endpoint
    ):
        owner_client.post(
            self.url(simulated_endpoint.offering),
            _form(base_url="https://api.northwind.example/v1", api_key=""),
        )

        simulated_endpoint.refresh_from_db()
        assert simulated_endpoint.is_simulated is False

    def test_changing_only_the_model_keeps_the_simulated_label(
        self, owner_client, simulated_endpoint, settings
    ):
        settings.CANDOR_ENDPOINT_ALLOW_PRIVATE = True

        owner_client.post(
            self.url(simulated_endpoint.offering),
            _form(
                base_url=simulated_endpoint.base_url, model_name="agreeable", api_key=""
            ),
        )

        simulated_endpoint.refresh_from_db()
        assert (simulated_endpoint.model_name, simulated_endpoint.is_simulated) == (
            "agreeable",
            True,
        )

    @pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]"])
    def test_pointing_at_the_simulated_vendors_port_labels_it_simulated(
        self, owner_client, offering, settings, host
    ):
        settings.CANDOR_ENDPOINT_ALLOW_PRIVATE = True
        settings.CANDOR_SIMULATED_VENDOR_PORT = 8099

        owner_client.post(self.url(offering), _form(base_url=f"http://{host}:8099/v1"))

        assert Endpoint.objects.get(offering=offering).is_simulated is True
        page = owner_client.get(reverse("offering_detail", args=[offering.pk]))
        assert "badge-simulated" in page.content.decode()

    @pytest.mark.parametrize(
        "base_url", ["http://127.0.0.1:8100/v1", "http://localhost/v1"]
    )
    def test_another_local_port_is_not_labelled_simulated(
        self, owner_client, offering, settings, base_url
    ):
        settings.CANDOR_ENDPOINT_ALLOW_PRIVATE = True
        settings.CANDOR_SIMULATED_VENDOR_PORT = 8099

        owner_client.post(self.url(offering), _form(base_url=base_url))

        assert Endpoint.objects.get(offering=offering).is_simulated is False

    def test_the_htmx_partial_holds_only_the_form(
        self, owner_client, offering, htmx_headers
    ):
        response = owner_client.get(self.url(offering), headers=htmx_headers)

        page = response.content.decode()
        assert response.status_code == 200
        assert 'id="endpoint-form"' in page
        assert "<html" not in page

    def test_an_htmx_save_redirects_on_the_client(
        self, owner_client, offering, htmx_headers
    ):
        response = owner_client.post(self.url(offering), _form(), headers=htmx_headers)

        assert response.status_code == 200
        assert response["HX-Redirect"] == offering.get_absolute_url()

    def test_the_full_page_offers_the_connection_test(self, owner_client, endpoint):
        response = owner_client.get(self.url(endpoint.offering))

        page = response.content.decode()
        assert "<html" in page
        assert reverse("endpoint_test", args=[endpoint.offering.pk]) in page
        assert "Test connection" in page

    def test_wrong_method(self, owner_client, offering):
        assert owner_client.delete(self.url(offering)).status_code == 405

    def test_another_workspaces_offering_is_not_found(
        self, owner_client, foreign_offering
    ):
        assert owner_client.get(self.url(foreign_offering)).status_code == 404
        response = owner_client.post(self.url(foreign_offering), _form())
        assert response.status_code == 404
        assert not Endpoint.objects.exists()

    def test_a_viewer_cannot_change_an_endpoint(self, viewer_client, endpoint):
        assert viewer_client.get(self.url(endpoint.offering)).status_code == 403
        response = viewer_client.post(
            self.url(endpoint.offering), _form(model_name="viewer-was-here")
        )

        endpoint.refresh_from_db()
        assert response.status_code == 403
        assert endpoint.model_name == "northwind-chat-3.1"

    def test_anonymous_people_are_sent_to_log_in(self, client, offering):
        response = client.get(self.url(offering))

        assert response.status_code == 302
        assert response.url == _login_url(self.url(offering))


# --- The offering page's endpoint section -------------------------------------


class TestOfferingEndpointSection:
    def test_it_shows_the_endpoint_but_never_its_key(self, owner_client, endpoint):
        response = owner_client.get(endpoint.offering.get_absolute_url())

        page = response.content.decode()
        assert "OpenAI-compatible chat completions" in page
        assert "https://api.northwind.example/v1" in page
        assert "northwind-chat-3.1" in page
        assert "Stored, encrypted" in page
        assert API_KEY not in page
        assert endpoint.api_key_encrypted not in page
        assert reverse("endpoint_edit", args=[endpoint.offering.pk]) in page
        assert reverse("endpoint_test", args=[endpoint.offering.pk]) in page
        assert "badge-simulated" not in page

    def test_a_simulated_endpoint_is_labelled(self, owner_client, simulated_endpoint):
        response = owner_client.get(simulated_endpoint.offering.get_absolute_url())

        page = response.content.decode()
        assert 'class="badge badge-simulated"' in page
        assert "Candor’s simulated vendor" in page

    def test_without_an_endpoint_it_invites_adding_one(self, owner_client, offering):
        response = owner_client.get(offering.get_absolute_url())

        page = response.content.decode()
        assert "No endpoint yet." in page
        assert "Add endpoint" in page

    def test_a_viewer_sees_the_endpoint_without_edit_or_test(
        self, viewer_client, endpoint
    ):
        response = viewer_client.get(endpoint.offering.get_absolute_url())

        page = response.content.decode()
        assert "northwind-chat-3.1" in page
        assert reverse("endpoint_edit", args=[endpoint.offering.pk]) not in page
        assert reverse("endpoint_test", args=[endpoint.offering.pk]) not in page


# --- The connection test -----------------------------------------------------


class TestEndpointTest:
    def url(self, offering) -> str:
        return reverse("endpoint_test", args=[offering.pk])

    def _tested(self, client, endpoint, htmx_headers, **fields) -> str:
        for name, value in fields.items():
            setattr(endpoint, name, value)
        endpoint.save()
        response = client.post(self.url(endpoint.offering), headers=htmx_headers)
        assert response.status_code == 200
        return html.unescape(response.content.decode())

    def test_it_shows_the_models_reply(
        self, owner_client, simulated_endpoint, htmx_headers, allow_private_endpoints
    ):
        page = self._tested(owner_client, simulated_endpoint, htmx_headers)

        assert "It works." in page
        assert "Hello from Candor's simulated vendor (candid profile)" in page
        assert 'id="endpoint-test-result"' in page
        assert "<html" not in page
        assert API_KEY not in page

    @pytest.mark.parametrize(
        ("model", "says"),
        [
            ("candid:fault=401", "The API key was refused (401)."),
            ("gpt-imaginary", "Unknown model or wrong base URL (404)."),
            ("candid:fault=402", "quota or credit is exhausted (402)"),
            ("candid:fault=malformed", "not a chat completion"),
        ],
    )
    def test_a_failure_is_explained(
        self,
        owner_client,
        simulated_endpoint,
        htmx_headers,
        allow_private_endpoints,
        model,
        says,
    ):
        page = self._tested(
            owner_client, simulated_endpoint, htmx_headers, model_name=model
        )

        assert "The test call failed." in page
        assert says in page
        assert API_KEY not in page

    def test_an_unreachable_host_is_explained(
        self, owner_client, simulated_endpoint, htmx_headers, allow_private_endpoints
    ):
        url = f"http://127.0.0.1:{_closed_port()}/v1"

        page = self._tested(
            owner_client, simulated_endpoint, htmx_headers, base_url=url
        )

        assert "Could not reach 127.0.0.1: the connection was refused" in page

    def test_a_slow_endpoint_is_given_up_on(
        self, owner_client, simulated_endpoint, htmx_headers, allow_private_endpoints
    ):
        page = self._tested(
            owner_client,
            simulated_endpoint,
            htmx_headers,
            model_name="candid:fault=timeout",
            timeout_seconds=1,
        )

        assert "127.0.0.1 did not answer within 1 seconds." in page

    def test_a_refused_address_is_explained(
        self, owner_client, simulated_endpoint, htmx_headers, refuse_private_endpoints
    ):
        page = self._tested(owner_client, simulated_endpoint, htmx_headers)

        assert "Refused to connect: 127.0.0.1 is a loopback address" in page

    def test_a_metadata_address_stored_by_other_means_is_still_refused(
        self, owner_client, endpoint, htmx_headers, allow_private_endpoints
    ):
        page = self._tested(
            owner_client,
            endpoint,
            htmx_headers,
            base_url="http://169.254.169.254/latest",
        )

        assert "169.254.169.254 is a cloud metadata address" in page

    def test_a_key_from_an_old_encryption_key_says_so(
        self, owner_client, simulated_endpoint, htmx_headers, settings
    ):
        settings.CANDOR_ENCRYPTION_KEY = [Fernet.generate_key().decode()]

        page = self._tested(owner_client, simulated_endpoint, htmx_headers)

        assert "CANDOR_ENCRYPTION_KEY has changed" in page

    def test_an_internal_error_is_explained_not_a_500(
        self, owner_client, endpoint, htmx_headers, monkeypatch
    ):
        def broken(*args, **kwargs):
            raise RuntimeError("event loop trouble")

        monkeypatch.setattr("evals.services.run_blocking", broken)

        page = self._tested(owner_client, endpoint, htmx_headers)

        assert "internal error" in page
        assert f"endpoint={endpoint.pk}" in page

    def test_without_an_endpoint_it_asks_to_save_one_first(
        self, owner_client, offering, htmx_headers
    ):
        response = owner_client.post(self.url(offering), headers=htmx_headers)

        assert response.status_code == 200
        assert "Save the endpoint first" in response.content.decode()

    def test_no_log_line_carries_the_key(
        self,
        owner_client,
        simulated_endpoint,
        htmx_headers,
        allow_private_endpoints,
        caplog,
    ):
        caplog.set_level(logging.DEBUG)

        self._tested(owner_client, simulated_endpoint, htmx_headers)
        self._tested(
            owner_client,
            simulated_endpoint,
            htmx_headers,
            model_name="candid:fault=401",
        )

        assert "endpoint tested" in caplog.text
        assert "provider response" in caplog.text
        assert API_KEY not in caplog.text

    def test_without_htmx_the_result_comes_back_as_a_message(
        self, owner_client, simulated_endpoint, allow_private_endpoints
    ):
        response = owner_client.post(self.url(simulated_endpoint.offering), follow=True)

        page = response.content.decode()
        assert response.redirect_chain == [
            (reverse("endpoint_edit", args=[simulated_endpoint.offering.pk]), 302)
        ]
        assert "The endpoint answered" in page
        assert API_KEY not in page

    def test_wrong_method(self, owner_client, endpoint):
        assert owner_client.get(self.url(endpoint.offering)).status_code == 405

    def test_another_workspaces_offering_is_not_found(
        self, owner_client, foreign_offering
    ):
        assert owner_client.post(self.url(foreign_offering)).status_code == 404

    def test_a_viewer_cannot_spend_the_vendors_tokens(self, viewer_client, endpoint):
        assert viewer_client.post(self.url(endpoint.offering)).status_code == 403

    def test_anonymous_people_are_sent_to_log_in(self, client, endpoint):
        response = client.post(self.url(endpoint.offering))

        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))


# --- Judges -------------------------------------------------------------------


def _judge_form(**changes) -> dict:
    data = {
        "name": "Strict judge",
        "api_kind": "anthropic_messages",
        "base_url": "https://api.judge.example/v1",
        "model_name": "judge-large",
        "pinned_version": "2026-01-15",
        "api_key": API_KEY,
        "requests_per_minute": "30",
    }
    data.update(changes)
    return data


class TestJudgeList:
    url = reverse("judge_list")

    def test_it_lists_the_workspaces_judges_only(
        self, owner_client, workspace, outsider
    ):
        JudgeProfileFactory(workspace=workspace, name="Strict judge", api_key=API_KEY)
        JudgeProfileFactory(
            workspace=outsider.memberships.get().workspace, name="Their judge"
        )

        response = owner_client.get(self.url)

        page = response.content.decode()
        assert "Strict judge" in page
        assert "Their judge" not in page
        assert "Stored" in page
        assert API_KEY not in page

    def test_an_empty_list_explains_what_a_judge_is_for(self, owner_client):
        response = owner_client.get(self.url)

        assert "not measured" in response.content.decode()

    def test_a_viewer_reads_the_list_without_links_to_change_it(
        self, viewer_client, workspace
    ):
        judge = JudgeProfileFactory(workspace=workspace)

        response = viewer_client.get(self.url)

        page = response.content.decode()
        assert response.status_code == 200
        assert judge.name in page
        assert reverse("judge_create") not in page
        assert reverse("judge_edit", args=[judge.pk]) not in page

    def test_the_htmx_partial_holds_only_the_list(self, owner_client, htmx_headers):
        response = owner_client.get(self.url, headers=htmx_headers)

        page = response.content.decode()
        assert 'id="judges"' in page
        assert "<html" not in page

    def test_wrong_method(self, owner_client):
        assert owner_client.post(self.url).status_code == 405

    def test_anonymous_people_are_sent_to_log_in(self, client):
        response = client.get(self.url)

        assert response.url == _login_url(self.url)


class TestJudgeCreate:
    url = reverse("judge_create")

    def test_a_judge_is_created_with_its_key_encrypted(self, owner_client, workspace):
        response = owner_client.post(self.url, _judge_form())

        judge = JudgeProfile.objects.get()
        assert response.status_code == 302
        assert response.url == reverse("judge_list")
        assert (judge.workspace, judge.name, judge.pinned_version) == (
            workspace,
            "Strict judge",
            "2026-01-15",
        )
        assert judge.requests_per_minute == 30
        assert secret_decrypt(judge.api_key_encrypted) == API_KEY

    def test_a_bad_form_keeps_what_was_typed(self, owner_client):
        response = owner_client.post(self.url, _judge_form(name="", base_url="nope"))

        page = response.content.decode()
        assert response.status_code == 200
        assert "This field is required." in page
        assert 'value="judge-large"' in page
        assert API_KEY not in page
        assert not JudgeProfile.objects.exists()

    def test_the_form_says_the_model_name_is_sent_and_the_version_is_a_note(
        self, owner_client
    ):
        page = owner_client.get(self.url).content.decode()

        assert "use the full pinned model id" in page
        assert "It is not sent; the model name is." in page

    def test_a_judge_url_with_a_password_is_refused_without_echoing_it(
        self, owner_client
    ):
        response = owner_client.post(
            self.url, _judge_form(base_url="https://me:hunter2@judge.example/v1")
        )

        page = response.content.decode()
        assert "Leave the user name and password out of the base URL" in page
        assert "hunter2" not in page
        assert not JudgeProfile.objects.exists()

    def test_the_full_page_and_the_htmx_partial(self, owner_client, htmx_headers):
        full = owner_client.get(self.url).content.decode()
        partial = owner_client.get(self.url, headers=htmx_headers).content.decode()

        assert "<html" in full and 'id="judge-form"' in full
        assert "<html" not in partial and 'id="judge-form"' in partial

    def test_wrong_method(self, owner_client):
        assert owner_client.delete(self.url).status_code == 405

    def test_a_viewer_cannot_add_a_judge(self, viewer_client):
        assert viewer_client.post(self.url, _judge_form()).status_code == 403
        assert not JudgeProfile.objects.exists()

    def test_anonymous_people_are_sent_to_log_in(self, client):
        assert client.get(self.url).url == _login_url(self.url)


class TestJudgeEdit:
    def url(self, judge) -> str:
        return reverse("judge_edit", args=[judge.pk])

    def test_a_blank_key_keeps_the_stored_one_and_the_page_never_shows_it(
        self, owner_client, workspace
    ):
        judge = JudgeProfileFactory(workspace=workspace, api_key=API_KEY)

        response = owner_client.post(
            self.url(judge), _judge_form(api_key="", name="Renamed judge")
        )
        page = owner_client.get(self.url(judge)).content.decode()

        judge.refresh_from_db()
        assert response.status_code == 302
        assert judge.name == "Renamed judge"
        assert secret_decrypt(judge.api_key_encrypted) == API_KEY
        assert API_KEY not in page
        assert "A key is stored; leave blank to keep it." in page

    def test_an_htmx_save_redirects_on_the_client(
        self, owner_client, workspace, htmx_headers
    ):
        judge = JudgeProfileFactory(workspace=workspace)

        response = owner_client.post(
            self.url(judge), _judge_form(), headers=htmx_headers
        )

        assert response["HX-Redirect"] == reverse("judge_list")

    def test_another_workspaces_judge_is_not_found(self, owner_client, outsider):
        judge = JudgeProfileFactory(workspace=outsider.memberships.get().workspace)

        assert owner_client.get(self.url(judge)).status_code == 404
        assert owner_client.post(self.url(judge), _judge_form()).status_code == 404

    def test_a_viewer_cannot_change_a_judge(self, viewer_client, workspace):
        judge = JudgeProfileFactory(workspace=workspace, name="Kept")

        response = viewer_client.post(self.url(judge), _judge_form(name="Changed"))

        judge.refresh_from_db()
        assert response.status_code == 403
        assert judge.name == "Kept"

    def test_wrong_method(self, owner_client, workspace):
        judge = JudgeProfileFactory(workspace=workspace)

        assert owner_client.put(self.url(judge)).status_code == 405

    def test_anonymous_people_are_sent_to_log_in(self, client, workspace):
        judge = JudgeProfileFactory(workspace=workspace)

        assert client.get(self.url(judge)).url == _login_url(self.url(judge))
