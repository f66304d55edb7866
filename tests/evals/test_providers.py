"""Calling a model over both API kinds, and classifying what goes wrong."""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import socket
from dataclasses import dataclass

import pytest
from cryptography.fernet import Fernet
from multidict import CIMultiDict, CIMultiDictProxy

from evals.crypto import SecretUnreadable
from evals.http import HTTPResponse, guarded_async_client
from evals.probes import registry
from evals.providers import (
    NOT_A_COMPLETION,
    EndpointConfig,
    ProviderError,
    complete,
    endpoint_config,
    retry_after_seconds,
)
from tests.factories import EndpointFactory

API_KEY = "sk-live-TESTKEY-9f8e7d6c5b4a"
API_KINDS = ["openai_chat", "anthropic_messages"]


def _config(url: str, model: str = "candid", api_kind: str = "openai_chat", **kw):
    return EndpointConfig(
        api_kind=api_kind,
        base_url=url,
        model_name=model,
        api_key=kw.pop("api_key", API_KEY),
        timeout_seconds=kw.pop("timeout_seconds", 5.0),
    )


def _complete(config: EndpointConfig, messages: list[dict], **options):
    async def go():
        async with guarded_async_client(
            timeout=config.timeout_seconds, max_connections=2, allow_private=True
        ) as client:
            return await complete(client, config, messages, **options)

    return asyncio.run(go())


@dataclass(frozen=True)
class _Request:
    """What ``complete`` asked the client to send."""

    method: str
    url: str
    headers: CIMultiDict
    content: bytes


class _FakeClient:
    """Stands in for the guarded client: ``handler(request)`` gives each answer."""

    def __init__(self, handler) -> None:
        self._handler = handler

    async def post(self, url, *, headers=None, json=None, timeout=None):
        content = b"" if json is None else _json_bytes(json)
        return self._handler(_Request("POST", url, CIMultiDict(headers or {}), content))


def _json_bytes(value) -> bytes:
    return json.dumps(value).encode()


def _answer(status: int, *, json=None, content: bytes = b"", headers=None):
    """An HTTP answer as the guarded client returns it."""
    body = _json_bytes(json) if json is not None else content
    return HTTPResponse(
        status_code=status,
        headers=CIMultiDictProxy(CIMultiDict(headers or {})),
        text=body.decode(),
    )


def _mocked(config: EndpointConfig, handler, messages=None, **options):
    async def go():
        return await complete(
            _FakeClient(handler),
            config,
            messages or [{"role": "user", "content": "Hi"}],
            **options,
        )

    return asyncio.run(go())


def _user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def _error_of(config: EndpointConfig, handler=None, messages=None) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        if handler is None:
            _complete(config, messages or _user("Hello there"))
        else:
            _mocked(config, handler, messages)
    return caught.value


@pytest.fixture
def pushback():
    family = registry.family("pushback")
    item = family.items()[0]
    return family, item, family.conversations(item)[0]


# --- Replies and token counts from the simulated vendor -------------------------


@pytest.mark.parametrize("api_kind", API_KINDS)
def test_the_reply_is_the_profiles_scripted_reply(simulated_vendor, pushback, api_kind):
    family, item, conversation = pushback
    config = _config(simulated_vendor.url, "agreeable", api_kind)

    completion = _complete(
        config, _user(conversation.user_turns[0]), system=conversation.system
    )

    expected = family.simulated_reply(item, conversation.variant, 0, "agreeable")
    assert completion.text == expected
    sent = f"{conversation.system} {conversation.user_turns[0]}"
    assert completion.tokens_in == len(sent.split())
    assert completion.tokens_out == len(expected.split())


@pytest.mark.parametrize("api_kind", API_KINDS)
def test_the_second_turn_gets_the_second_scripted_reply(
    simulated_vendor, pushback, api_kind
):
    family, item, conversation = pushback
    config = _config(simulated_vendor.url, "agreeable", api_kind)
    first = family.simulated_reply(item, conversation.variant, 0, "agreeable")
    messages = [
        {"role": "user", "content": conversation.user_turns[0]},
        {"role": "assistant", "content": first},
        {"role": "user", "content": conversation.user_turns[1]},
    ]

    completion = _complete(config, messages, system=conversation.system)

    assert completion.text == family.simulated_reply(
        item, conversation.variant, 1, "agreeable"
    )
    assert completion.raw["model"] == "agreeable"


def test_the_profiles_answer_differently(simulated_vendor, pushback):
    family, item, conversation = pushback
    first = family.simulated_reply(item, conversation.variant, 0, "candid")
    messages = [
        {"role": "user", "content": conversation.user_turns[0]},
        {"role": "assistant", "content": first},
        {"role": "user", "content": conversation.user_turns[1]},
    ]

    replies = {
        profile: _complete(
            _config(simulated_vendor.url, profile), messages, system=conversation.system
        ).text
        for profile in ("agreeable", "candid")
    }

    assert replies["agreeable"] != replies["candid"]


# --- Request shapes ------------------------------------------------------------


def test_openai_chat_sends_a_bearer_key_and_the_system_prompt_first():
    seen = {}

    def handler(request: _Request) -> HTTPResponse:
        seen["request"] = request
        return _answer(
            200,
            json={
                "choices": [{"message": {"role": "assistant", "content": "Fine."}}],
                "usage": {"prompt_tokens": 12, "completion_tokens": 2},
            },
        )

    completion = _mocked(
        _config("https://api.vendor.test/v1/"),
        handler,
        _user("Hello"),
        system="Be brief.",
        max_tokens=40,
    )

    request = seen["request"]
    body = json.loads(request.content)
    assert str(request.url) == "https://api.vendor.test/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hello"},
    ]
    assert (body["model"], body["max_tokens"], body["temperature"]) == ("candid", 40, 0)
    assert (completion.text, completion.tokens_in, completion.tokens_out) == (
        "Fine.",
        12,
        2,
    )


def test_anthropic_messages_sends_the_system_prompt_as_a_field():
    seen = {}

    def handler(request: _Request) -> HTTPResponse:
        seen["request"] = request
        return _answer(
            200,
            json={
                "type": "message",
                "content": [
                    {"type": "text", "text": "Part one. "},
                    {"type": "tool_use", "id": "t1", "name": "x", "input": {}},
                    {"type": "text", "text": "Part two."},
                ],
                "usage": {"input_tokens": 9, "output_tokens": 4},
            },
        )

    completion = _mocked(
        _config("https://api.vendor.test/v1", api_kind="anthropic_messages"),
        handler,
        _user("Hello"),
        system="Be brief.",
    )

    request = seen["request"]
    body = json.loads(request.content)
    assert str(request.url) == "https://api.vendor.test/v1/messages"
    assert request.headers["x-api-key"] == API_KEY
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in request.headers
    assert body["system"] == "Be brief."
    assert body["messages"] == [{"role": "user", "content": "Hello"}]
    assert (completion.text, completion.tokens_in, completion.tokens_out) == (
        "Part one. Part two.",
        9,
        4,
    )


def test_no_key_means_no_authorization_header():
    seen = {}

    def handler(request):
        seen["headers"] = request.headers
        return _answer(200, json={"choices": [{"message": {"content": "ok"}}]})

    completion = _mocked(_config("http://local.test/v1", api_key=""), handler)

    assert "authorization" not in seen["headers"]
    assert (completion.tokens_in, completion.tokens_out) == (0, 0)


# --- Faults from the simulated vendor, classified -------------------------------

FAULTS = [
    ("candid:fault=429", "transient", 429, "rate limiting requests (429)"),
    ("candid:fault=500", "transient", 500, "server error (500)"),
    ("candid:fault=503", "transient", 503, "server error (503)"),
    ("candid:fault=529", "transient", 529, "overloaded (529)"),
    ("candid:fault=401", "final", 401, "The API key was refused (401)."),
    ("candid:fault=402", "quota", 402, "quota or credit is exhausted (402)"),
    ("candid:fault=malformed", "final", 200, NOT_A_COMPLETION),
    ("no-such-model", "final", 404, "Unknown model or wrong base URL (404)."),
    ("candid:colour=blue", "final", 400, "Unknown model option 'colour'"),
]


@pytest.mark.parametrize("api_kind", API_KINDS)
@pytest.mark.parametrize(("model", "kind", "status", "says"), FAULTS)
def test_faults_are_classified(simulated_vendor, api_kind, model, kind, status, says):
    error = _error_of(_config(simulated_vendor.url, model, api_kind))

    assert (error.kind, error.status) == (kind, status)
    assert says in error.message
    assert API_KEY not in error.message
    assert API_KEY not in repr(error)


@pytest.mark.parametrize("api_kind", API_KINDS)
def test_retry_after_is_read_from_a_429(simulated_vendor, api_kind):
    config = _config(simulated_vendor.url, "candid:fault=429,retry_after=2", api_kind)

    error = _error_of(config)

    assert error.retry_after == pytest.approx(2.0)


@pytest.mark.parametrize("api_kind", API_KINDS)
def test_a_fault_limited_to_the_first_attempts_then_answers(simulated_vendor, api_kind):
    config = _config(simulated_vendor.url, "candid:fault=500,first=2", api_kind)
    messages = _user(f"first-n fault check for {api_kind}")

    errors = [_error_of(config, messages=messages).status for _ in range(2)]
    completion = _complete(config, messages)

    assert errors == [500, 500]
    assert "simulated vendor" in completion.text


def test_a_timeout_is_transient(simulated_vendor):
    config = _config(simulated_vendor.url, "candid:fault=timeout", timeout_seconds=0.3)

    error = _error_of(config)

    assert error.kind == "transient"
    assert error.message == "127.0.0.1 did not answer within 0.3 seconds."


def test_an_unreachable_port_is_a_transient_network_error():
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()

    error = _error_of(_config(f"http://127.0.0.1:{port}/v1"))

    assert error.kind == "transient"
    assert error.status is None
    assert error.message.startswith("Could not reach 127.0.0.1: the connection was")


def test_a_refused_address_is_final_and_names_the_host():
    error = _error_of(_config("http://169.254.169.254/v1"))

    assert error.kind == "final"
    assert "169.254.169.254" in error.message


# --- Status codes and bodies -----------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind"),
    [(400, "final"), (403, "final"), (404, "final"), (422, "final"), (408, "transient")]
    + [(409, "transient"), (502, "transient"), (504, "transient"), (405, "final")],
)
def test_status_codes_are_classified(status, kind):
    error = _error_of(
        _config("https://api.vendor.test/v1"),
        lambda request: _answer(status, json={"error": {"message": "Nope."}}),
    )

    assert (error.kind, error.status) == (kind, status)


def test_a_400_says_what_the_vendor_said_without_echoing_the_key():
    body = {"error": {"message": f"Bad 'messages' for key {API_KEY}."}}

    error = _error_of(
        _config("https://api.vendor.test/v1"),
        lambda request: _answer(400, json=body),
    )

    assert error.message == (
        "The endpoint refused the request as malformed (400). The endpoint said: "
        "Bad 'messages' for key [redacted]."
    )


@pytest.mark.parametrize(
    "body",
    [
        {"error": {"type": "insufficient_quota", "message": "Out of quota."}},
        {"type": "error", "error": {"message": "Your credit balance is too low."}},
    ],
)
def test_a_429_for_an_empty_account_is_a_quota_error(body):
    error = _error_of(
        _config("https://api.vendor.test/v1"),
        lambda request: _answer(429, json=body),
    )

    assert error.kind == "quota"


@pytest.mark.parametrize(
    "content",
    [
        b"<html>Bad gateway</html>",
        b"[]",
        b'{"choices": []}',
        b'{"choices": [{"message": {"content": 42}}]}',
        b'{"id": "chat-1"}',
    ],
)
def test_a_body_that_is_not_a_chat_completion_is_final(content):
    error = _error_of(
        _config("https://api.vendor.test/v1"),
        lambda request: _answer(200, content=content),
    )

    assert (error.kind, error.message) == ("final", NOT_A_COMPLETION)


def test_an_anthropic_body_without_content_blocks_is_final():
    error = _error_of(
        _config("https://api.vendor.test/v1", api_kind="anthropic_messages"),
        lambda request: _answer(200, json={"content": "just text"}),
    )

    assert error.message == NOT_A_COMPLETION


# --- Retry-After and rate-limit reset headers -----------------------------------

NOW = 1_800_000_000.0


def test_retry_after_in_seconds():
    assert retry_after_seconds(CIMultiDict({"Retry-After": "7"}), now=NOW) == 7.0


def test_retry_after_as_an_http_date():
    date = email.utils.formatdate(NOW + 30, usegmt=True)

    assert retry_after_seconds(CIMultiDict({"Retry-After": date}), now=NOW) == 30.0


def test_retry_after_in_the_past_means_now():
    date = email.utils.formatdate(NOW - 30, usegmt=True)

    assert retry_after_seconds(CIMultiDict({"Retry-After": date}), now=NOW) == 0.0


def test_retry_after_ms_wins():
    headers = CIMultiDict({"retry-after-ms": "250", "Retry-After": "1"})

    assert retry_after_seconds(headers, now=NOW) == 0.25


def test_openai_reset_of_the_exhausted_limit_is_used():
    headers = CIMultiDict(
        {
            "x-ratelimit-remaining-requests": "12",
            "x-ratelimit-reset-requests": "20ms",
            "x-ratelimit-remaining-tokens": "0",
            "x-ratelimit-reset-tokens": "1m30.5s",
        }
    )

    assert retry_after_seconds(headers, now=NOW) == 90.5


def test_anthropic_reset_timestamps_are_read():
    headers = CIMultiDict(
        {
            "anthropic-ratelimit-requests-remaining": "0",
            "anthropic-ratelimit-requests-reset": "2027-01-15T08:00:12Z",
        }
    )
    now = 1_800_000_000.0  # 2027-01-15T08:00:00Z

    assert retry_after_seconds(headers, now=now) == 12.0


def test_without_a_usable_header_there_is_no_retry_after():
    headers = CIMultiDict({"Retry-After": "soon", "x-ratelimit-reset-tokens": "??"})

    assert retry_after_seconds(headers, now=NOW) is None


def test_a_rate_limit_answer_carries_its_reset_header():
    error = _error_of(
        _config("https://api.vendor.test/v1"),
        lambda request: _answer(
            429,
            headers={
                "x-ratelimit-remaining-requests": "0",
                "x-ratelimit-reset-requests": "6s",
            },
            json={"error": {"message": "Rate limit reached."}},
        ),
    )

    assert (error.kind, error.retry_after) == ("transient", 6.0)


# --- Secrets --------------------------------------------------------------------


def test_the_config_never_shows_its_key():
    config = _config("https://api.vendor.test/v1")

    assert API_KEY not in repr(config)
    assert API_KEY not in str(config)
    assert "api.vendor.test" in repr(config)


def test_no_log_line_carries_the_key(simulated_vendor, caplog):
    caplog.set_level(logging.DEBUG)

    _complete(_config(simulated_vendor.url), _user("Log check, please answer."))
    _error_of(_config(simulated_vendor.url, "candid:fault=401"))
    _error_of(
        _config("https://api.vendor.test/v1"),
        lambda request: _answer(401, json={"error": {"message": API_KEY}}),
    )

    assert "provider response" in caplog.text
    assert API_KEY not in caplog.text


@pytest.mark.django_db
def test_endpoint_config_decrypts_the_stored_key():
    endpoint = EndpointFactory(api_key=API_KEY, timeout_seconds=30)

    config = endpoint_config(endpoint)

    assert (config.api_key, config.timeout_seconds) == (API_KEY, 30.0)
    assert (config.base_url, config.model_name) == (
        endpoint.base_url,
        endpoint.model_name,
    )


@pytest.mark.django_db
def test_an_endpoint_without_a_key_has_an_empty_one():
    assert endpoint_config(EndpointFactory(api_key="")).api_key == ""


@pytest.mark.django_db
def test_a_key_stored_under_an_old_encryption_key_cannot_be_used(settings):
    endpoint = EndpointFactory(api_key=API_KEY)
    settings.CANDOR_ENCRYPTION_KEY = [Fernet.generate_key().decode()]

    with pytest.raises(SecretUnreadable, match="Enter the API key again"):
        endpoint_config(endpoint)


def test_an_invalid_base_url_is_final_and_not_repeated():
    error = _error_of(_config("http://user:hunter2@[::zz]/v1"))

    assert error.kind == "final"
    assert error.message == (
        "The base URL is not a valid URL; check it on the endpoint page."
    )
    assert "hunter2" not in error.message


def test_a_base_url_with_a_password_is_final_and_not_repeated():
    error = _error_of(_config("https://user:hunter2@api.vendor.test/v1"))

    assert error.kind == "final"
    assert error.message.startswith("The base URL carries a user name or password")
    assert "hunter2" not in error.message
