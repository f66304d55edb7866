"""The simulated vendor: scripted replies, the model-name grammar, faults, latency."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from evals.http import HTTPResponse, guarded_async_client
from evals.probes import registry
from evals.simulated import (
    ModelNameError,
    ModelSpec,
    model_spec_parse,
    simulated_vendor_start,
)

ROOT = Path(__file__).resolve().parents[2]
KEY = {"Authorization": "Bearer simulated-key"}


# A plain synchronous client from the standard library, so that these tests check
# the server alone; no environment proxy is used.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _http(
    method: str,
    url: str,
    *,
    json_body=None,
    content: bytes | None = None,
    headers: dict | None = None,
    timeout: float = 5,
) -> HTTPResponse:
    send = dict(headers or {})
    if json_body is not None:
        content = json.dumps(json_body).encode()
        send.setdefault("Content-Type", "application/json")
    request = urllib.request.Request(url, data=content, headers=send, method=method)
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            status, answer_headers, body = (
                response.status,
                response.headers,
                response.read(),
            )
    except urllib.error.HTTPError as error:
        status, answer_headers, body = error.code, error.headers, error.read()
    return HTTPResponse(status_code=status, headers=answer_headers, text=body.decode())


def _chat(url: str, model: str, content: str, **extra) -> HTTPResponse:
    body = {"model": model, "messages": [{"role": "user", "content": content}]}
    body.update(extra)
    return _http("POST", f"{url}/chat/completions", json_body=body, headers=KEY)


# --- Model-name grammar ----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "spec"),
    [
        ("candid", ModelSpec("candid")),
        ("agreeable:latency=200", ModelSpec("agreeable", latency_ms=200)),
        (
            "candid:fault=429,first=2,retry_after=1",
            ModelSpec("candid", fault="429", first=2, retry_after=1.0),
        ),
        ("candid:fault=500", ModelSpec("candid", fault="500")),
        (
            "candid: fault=timeout , latency=0",
            ModelSpec("candid", fault="timeout", latency_ms=0),
        ),
        ("agreeable:fault=malformed", ModelSpec("agreeable", fault="malformed")),
    ],
)
def test_model_names_pick_profile_and_options(name, spec):
    assert model_spec_parse(name) == spec


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("gpt-4", "does not exist"),
        ("candid:fault=418", "fault must be one of"),
        ("candid:latency=fast", "latency must be a whole number"),
        ("candid:first=-1", "first must be a whole number"),
        ("candid:retry_after=soon", "retry_after must be a number"),
        ("candid:temperature=1", "Unknown model option 'temperature'"),
        ("candid:fault=500,fault=429", "must appear once"),
        ("candid:latency", "must appear once, as key=value"),
    ],
)
def test_bad_model_names_are_explained(name, says):
    with pytest.raises(ModelNameError, match=says):
        model_spec_parse(name)


# --- Replies ----------------------------------------------------------------------


def test_a_probe_conversation_gets_its_scripted_reply(simulated_vendor):
    family = registry.family("honesty_limits")
    item = family.items()[0]
    conversation = family.conversations(item)[0]
    messages = [{"role": "user", "content": conversation.user_turns[0]}]
    if conversation.system:
        messages.insert(0, {"role": "system", "content": conversation.system})

    response = _http(
        "POST",
        f"{simulated_vendor.url}/chat/completions",
        json_body={"model": "candid", "messages": messages},
        headers=KEY,
        timeout=5,
    )

    assert response.status_code == 200
    reply = response.json()["choices"][0]["message"]["content"]
    assert reply == family.simulated_reply(item, conversation.variant, 0, "candid")


def test_a_probe_sent_without_its_system_prompt_is_not_recognised(simulated_vendor):
    family = registry.family("pushback")
    conversation = family.conversations(family.items()[0])[0]
    assert conversation.system

    response = _chat(simulated_vendor.url, "candid", conversation.user_turns[0])

    reply = response.json()["choices"][0]["message"]["content"]
    assert reply.startswith("Hello from Candor's simulated vendor (candid profile)")


def test_anything_else_gets_a_short_generic_reply(simulated_vendor):
    response = _http(
        "POST",
        f"{simulated_vendor.url}/messages",
        json_body={
            "model": "agreeable",
            "max_tokens": 60,
            "messages": [{"role": "user", "content": "Are you there?"}],
        },
        headers={"x-api-key": "simulated-key"},
        timeout=5,
    )

    body = response.json()
    assert body["type"] == "message"
    assert body["content"][0]["text"] == (
        "Hello from Candor's simulated vendor (agreeable profile). This reply is "
        "scripted; no real model was called."
    )
    assert body["usage"] == {"input_tokens": 3, "output_tokens": 16}


def test_a_reply_longer_than_max_tokens_is_cut(simulated_vendor):
    response = _chat(simulated_vendor.url, "candid", "Cut me short.", max_tokens=3)

    choice = response.json()["choices"][0]
    assert choice["message"]["content"] == "Hello from Candor's"
    assert choice["finish_reason"] == "length"


def test_the_models_are_listed(simulated_vendor):
    response = _http("GET", f"{simulated_vendor.url}/models")

    assert [model["id"] for model in response.json()["data"]] == [
        "agreeable",
        "candid",
    ]


def test_a_request_without_a_key_is_refused(simulated_vendor):
    response = _http(
        "POST",
        f"{simulated_vendor.url}/chat/completions",
        json_body={"model": "candid", "messages": []},
        timeout=5,
    )

    assert response.status_code == 401


@pytest.mark.parametrize(
    "content", [b"{not json", b'{"model": "candid"}', b'{"messages": []}', b"[]"]
)
def test_a_malformed_request_is_a_400(simulated_vendor, content):
    response = _http(
        "POST",
        f"{simulated_vendor.url}/chat/completions",
        content=content,
        headers={**KEY, "Content-Type": "application/json"},
        timeout=5,
    )

    assert response.status_code == 400
    assert response.json()["error"]["message"]


# --- Faults -----------------------------------------------------------------------


def test_first_n_counts_each_distinct_request_on_its_own(simulated_vendor):
    model = "candid:fault=429,first=1,retry_after=0"

    statuses = [
        _chat(simulated_vendor.url, model, text).status_code
        for text in ("distinct one", "distinct two", "distinct one", "distinct two")
    ]

    assert statuses == [429, 429, 200, 200]


def test_reset_forgets_the_attempts(simulated_vendor):
    model = "candid:fault=500,first=1"
    _chat(simulated_vendor.url, model, "reset check")

    simulated_vendor.reset()

    assert _chat(simulated_vendor.url, model, "reset check").status_code == 500


def test_a_429_carries_retry_after_and_reset_headers(simulated_vendor):
    response = _chat(simulated_vendor.url, "candid:fault=429,retry_after=1.5", "x")

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1.5"
    assert response.headers["x-ratelimit-reset-requests"] == "1.5s"
    assert response.headers["x-ratelimit-remaining-requests"] == "0"


def test_without_first_every_attempt_faults(simulated_vendor):
    statuses = {
        _chat(simulated_vendor.url, "candid:fault=402", "always").status_code
        for _ in range(3)
    }

    assert statuses == {402}


# --- Latency and concurrency -----------------------------------------------------


def test_latency_is_waited_without_blocking_64_concurrent_requests(simulated_vendor):
    async def burst():
        async with guarded_async_client(
            timeout=10, max_connections=64, allow_private=True
        ) as client:
            responses = await asyncio.gather(
                *[
                    client.post(
                        f"{simulated_vendor.url}/chat/completions",
                        json={
                            "model": "candid:latency=200",
                            "messages": [{"role": "user", "content": f"burst {n}"}],
                        },
                        headers=KEY,
                    )
                    for n in range(64)
                ]
            )
        return [response.status_code for response in responses]

    started, cpu_started = time.perf_counter(), time.process_time()
    statuses = asyncio.run(burst())
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started

    assert statuses == [200] * 64
    # One after another they would take 12.8 s; together, about one latency.
    assert elapsed < 2.0
    assert cpu < 2.0


def test_the_server_default_latency_applies_unless_the_model_overrides_it():
    with simulated_vendor_start(latency_ms=300) as slow:
        started = time.perf_counter()
        _chat(slow.url, "candid", "slow by default")
        default = time.perf_counter() - started
        started = time.perf_counter()
        _chat(slow.url, "candid:latency=0", "fast on request")
        overridden = time.perf_counter() - started

    assert default >= 0.3
    assert overridden < 0.3


# --- Start and stop --------------------------------------------------------------


def test_a_stopped_vendor_no_longer_answers():
    vendor = simulated_vendor_start()
    assert _http("GET", f"{vendor.url}/models").status_code == 200

    vendor.stop()

    with pytest.raises(urllib.error.URLError) as caught:
        _http("GET", f"{vendor.url}/models", timeout=2)
    assert isinstance(caught.value.reason, ConnectionRefusedError)


def test_the_management_command_serves_in_the_foreground():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    env = {**os.environ, "DJANGO_SECRET_KEY": "x"}
    process = subprocess.Popen(
        [sys.executable, "manage.py", "simulated_vendor", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        models = None
        deadline = time.monotonic() + 30
        while models is None and time.monotonic() < deadline:
            try:
                models = _http("GET", f"http://127.0.0.1:{port}/v1/models", timeout=1)
            except OSError:
                time.sleep(0.1)
    finally:
        process.terminate()
        stdout, _ = process.communicate(timeout=20)

    assert models is not None and models.status_code == 200
    assert f"Simulated vendor at http://127.0.0.1:{port}/v1" in stdout
