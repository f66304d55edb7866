"""Candor's simulated vendor: a local server with scripted models, for demo and tests.

It speaks both API kinds Candor calls — ``POST /v1/chat/completions``
(OpenAI-compatible) and ``POST /v1/messages`` (Anthropic Messages) — plus
``GET /v1/models``. It recognises a probe conversation by its first user turn and
system prompt (``registry.find_conversation``), counts the user turns to know which
reply is due, and answers with the family's scripted reply under the profile the
model name picks. Anything else, such as a "test connection" prompt, gets a short
generic reply. No real model is involved, and every reply says so by its model name.

Model names, ``<profile>[:<option>=<value>,...]``:

- ``profile``: ``agreeable`` or ``candid`` (see ``ProbeFamily.simulated_reply``).
- ``latency=<ms>``: wait this long before answering (overrides the server's
  default latency). The wait is an asyncio sleep, so slow replies cost no CPU.
- ``fault=<kind>``: answer with a fault instead: ``429`` (rate limited), ``500``,
  ``503``, ``529`` (overloaded), ``401`` (key refused), ``402`` (no credit),
  ``timeout`` (never answers in time; the client gives up) or ``malformed`` (a
  200 whose body is cut-off JSON).
- ``first=<n>``: only the first n attempts of each distinct request (same path and
  body) get the fault; later attempts are answered. Without it, every attempt
  faults.
- ``retry_after=<seconds>``: with ``fault=429``, send ``Retry-After`` and the API
  kind's rate-limit reset headers with this value.

Examples: ``candid``, ``agreeable:latency=200``,
``candid:fault=429,first=2,retry_after=1`` (two 429s with Retry-After 1 for each
distinct request, then an answer),
``candid:fault=500`` (always 500).

Any non-empty API key is accepted; a request without one gets a 401.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from evals.probes import registry
from evals.probes.base import PROFILES

logger = logging.getLogger(__name__)

FAULTS = ("429", "500", "503", "529", "401", "402", "timeout", "malformed")
# Longer than any timeout an endpoint may have; the client gives up first.
TIMEOUT_FAULT_SECONDS = 900.0
SHUTDOWN_SECONDS = 1.0
_WORD = re.compile(r"\S+")


class ModelNameError(ValueError):
    """A model name the simulated vendor does not understand."""

    def __init__(self, message: str, *, unknown_model: bool = False) -> None:
        super().__init__(message)
        self.unknown_model = unknown_model


@dataclass(frozen=True)
class ModelSpec:
    profile: str
    latency_ms: int | None = None
    fault: str | None = None
    first: int | None = None  # None: every attempt faults
    retry_after: float | None = None


def model_spec_parse(name: str) -> ModelSpec:
    """Read ``<profile>[:option=value,...]``; ModelNameError if it is not one."""
    profile, _, options_text = name.strip().partition(":")
    if profile not in PROFILES:
        raise ModelNameError(
            f"The model '{name}' does not exist. The simulated vendor serves "
            f"{', '.join(PROFILES)}.",
            unknown_model=True,
        )

    options: dict[str, Any] = {}
    for option in filter(None, (part.strip() for part in options_text.split(","))):
        key, equals, value = option.partition("=")
        key, value = key.strip(), value.strip()
        if not equals or key in options:
            raise ModelNameError(
                f"Model option '{option}' must appear once, as key=value."
            )
        if key == "fault":
            if value not in FAULTS:
                raise ModelNameError(f"fault must be one of {', '.join(FAULTS)}.")
            options["fault"] = value
        elif key in ("latency", "first"):
            if not value.isdigit():
                raise ModelNameError(f"{key} must be a whole number, not '{value}'.")
            options["latency_ms" if key == "latency" else "first"] = int(value)
        elif key == "retry_after":
            try:
                options["retry_after"] = float(value)
            except ValueError:
                raise ModelNameError(
                    f"retry_after must be a number of seconds, not '{value}'."
                ) from None
            if options["retry_after"] < 0:
                raise ModelNameError("retry_after cannot be negative.")
        else:
            raise ModelNameError(
                f"Unknown model option '{key}': use latency, fault, first or "
                "retry_after."
            )
    return ModelSpec(profile=profile, **options)


def simulated_answer(profile: str, system: str, user_turns: list[str]) -> str:
    """The scripted reply to a conversation that has reached its last user turn."""
    if user_turns:
        found = registry.find_conversation(user_turns[0], system)
        if found is not None:
            try:
                return found.family.simulated_reply(
                    found.item,
                    found.conversation.variant,
                    len(user_turns) - 1,
                    profile,
                )
            except ValueError:
                pass  # more turns than the probe has: answer generically
    return (
        f"Hello from Candor's simulated vendor ({profile} profile). This reply is "
        "scripted; no real model was called."
    )


def _words(text: str) -> int:
    return len(_WORD.findall(text))


def _truncate(text: str, max_words: int) -> tuple[str, bool]:
    matches = list(_WORD.finditer(text))
    if len(matches) <= max_words:
        return text, False
    if max_words <= 0:
        return "", True
    return text[: matches[max_words - 1].end()], True


def _text_of(content: Any) -> str:
    """The text of a message's content: a string, or a list of text parts/blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            part.get("text", "")
            for part in content
            if isinstance(part, dict) and part.get("type") == "text"
        )
    return ""


# How many chat request arrival times the server remembers, newest kept.
ARRIVALS_KEPT = 100_000


class _VendorState:
    """Default latency, per-request attempt counters and arrival times, shared with
    other threads."""

    def __init__(self, latency_ms: int) -> None:
        self.latency_ms = latency_ms
        self._attempts: dict[str, int] = {}
        self._arrivals: deque[float] = deque(maxlen=ARRIVALS_KEPT)
        self._lock = threading.Lock()

    def arrived(self) -> None:
        with self._lock:
            self._arrivals.append(time.monotonic())

    def arrival_times(self) -> list[float]:
        with self._lock:
            return list(self._arrivals)

    def attempt(self, request_key: str) -> int:
        with self._lock:
            count = self._attempts.get(request_key, 0) + 1
            self._attempts[request_key] = count
            return count

    def reset(self) -> None:
        with self._lock:
            self._attempts.clear()
            self._arrivals.clear()


STATE = web.AppKey("state", _VendorState)


# --- Response shapes of the two API kinds --------------------------------------


def _error(api_kind: str, status: int, kind: str, message: str, **headers: str):
    if api_kind == "anthropic":
        body = {"type": "error", "error": {"type": kind, "message": message}}
    else:
        body = {
            "error": {"message": message, "type": kind, "param": None, "code": kind}
        }
    return web.json_response(body, status=status, headers=headers or None)


def _rate_limit_headers(api_kind: str, retry_after: float | None) -> dict[str, str]:
    if retry_after is None:
        return {}
    seconds = f"{retry_after:g}"
    if api_kind == "anthropic":
        reset = datetime.now(UTC) + timedelta(seconds=retry_after)
        return {
            "Retry-After": seconds,
            "anthropic-ratelimit-requests-remaining": "0",
            "anthropic-ratelimit-requests-reset": reset.isoformat(),
        }
    return {
        "Retry-After": seconds,
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": f"{seconds}s",
    }


def _fault_response(api_kind: str, spec: ModelSpec) -> web.Response:
    fault = spec.fault
    anthropic = api_kind == "anthropic"
    if fault == "429":
        return _error(
            api_kind,
            429,
            "rate_limit_error",
            "Rate limit reached for requests (simulated).",
            **_rate_limit_headers(api_kind, spec.retry_after),
        )
    if fault == "401":
        return _error(
            api_kind,
            401,
            "authentication_error" if anthropic else "invalid_api_key",
            "Incorrect API key provided (simulated).",
        )
    if fault == "402":
        if anthropic:
            return _error(
                api_kind,
                402,
                "billing_error",
                "Your credit balance is too low (simulated).",
            )
        return _error(
            api_kind,
            402,
            "insufficient_quota",
            "You exceeded your current quota (simulated).",
        )
    if fault == "529":
        return _error(api_kind, 529, "overloaded_error", "Overloaded (simulated).")
    if fault == "malformed":
        return web.Response(
            status=200,
            text='{"id": "simulated", "choices": [{"message": ',
            content_type="application/json",
        )
    status = int(fault or 500)
    return _error(
        api_kind,
        status,
        "api_error" if anthropic else "server_error",
        f"The server had an error while processing your request ({status}, simulated).",
    )


def _completion_body(
    api_kind: str, model: str, reply: str, tokens_in: int, truncated: bool
) -> dict[str, Any]:
    tokens_out = _words(reply)
    if api_kind == "anthropic":
        return {
            "id": f"msg_simulated_{time.monotonic_ns()}",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [{"type": "text", "text": reply}],
            "stop_reason": "max_tokens" if truncated else "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": tokens_in, "output_tokens": tokens_out},
        }
    return {
        "id": f"chatcmpl-simulated-{time.monotonic_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply},
                "finish_reason": "length" if truncated else "stop",
            }
        ],
        "usage": {
            "prompt_tokens": tokens_in,
            "completion_tokens": tokens_out,
            "total_tokens": tokens_in + tokens_out,
        },
    }


def _conversation(api_kind: str, body: dict[str, Any]) -> tuple[str, list[str], int]:
    """System prompt, user turns and input word count of a request body."""
    messages = body["messages"]
    words = sum(_words(_text_of(m.get("content"))) for m in messages)
    if api_kind == "anthropic":
        system = _text_of(body.get("system") or "")
        words += _words(system)
    else:
        system = "\n\n".join(
            _text_of(m.get("content")) for m in messages if m.get("role") == "system"
        )
    user_turns = [
        _text_of(m.get("content")) for m in messages if m.get("role") == "user"
    ]
    return system, user_turns, words


def _has_key(request: web.Request, api_kind: str) -> bool:
    if api_kind == "anthropic":
        return bool(request.headers.get("x-api-key", "").strip())
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and bool(token.strip())


async def _chat(request: web.Request, api_kind: str) -> web.Response:
    state = request.app[STATE]
    state.arrived()
    raw = await request.read()
    try:
        body = json.loads(raw)
    except ValueError:
        return _error(api_kind, 400, "invalid_request_error", "The body is not JSON.")
    if (
        not isinstance(body, dict)
        or not isinstance(body.get("model"), str)
        or not isinstance(body.get("messages"), list)
        or not all(isinstance(m, dict) for m in body["messages"])
    ):
        return _error(
            api_kind,
            400,
            "invalid_request_error",
            "A request needs a 'model' and a list of 'messages'.",
        )
    if not _has_key(request, api_kind):
        return _error(
            api_kind,
            401,
            "authentication_error",
            "No API key was sent (simulated vendor: any key will do).",
        )
    try:
        spec = model_spec_parse(body["model"])
    except ModelNameError as error:
        if error.unknown_model:
            return _error(api_kind, 404, "not_found_error", str(error))
        return _error(api_kind, 400, "invalid_request_error", str(error))

    latency_ms = spec.latency_ms if spec.latency_ms is not None else state.latency_ms
    if latency_ms:
        await asyncio.sleep(latency_ms / 1000)

    if spec.fault is not None:
        request_key = hashlib.sha256(request.path.encode() + b"\0" + raw).hexdigest()
        attempt = state.attempt(request_key)
        if spec.first is None or attempt <= spec.first:
            if spec.fault == "timeout":
                await asyncio.sleep(TIMEOUT_FAULT_SECONDS)
            else:
                return _fault_response(api_kind, spec)

    system, user_turns, tokens_in = _conversation(api_kind, body)
    reply = simulated_answer(spec.profile, system, user_turns)
    max_tokens = body.get("max_tokens")
    truncated = False
    if isinstance(max_tokens, int):
        reply, truncated = _truncate(reply, max_tokens)
    return web.json_response(
        _completion_body(api_kind, body["model"], reply, tokens_in, truncated)
    )


async def _chat_completions(request: web.Request) -> web.Response:
    return await _chat(request, "openai")


async def _messages(request: web.Request) -> web.Response:
    return await _chat(request, "anthropic")


async def _models(request: web.Request) -> web.Response:
    return web.json_response(
        {
            "object": "list",
            "data": [
                {"id": profile, "object": "model", "owned_by": "candor-simulated"}
                for profile in PROFILES
            ],
        }
    )


def simulated_vendor_app(latency_ms: int = 0) -> web.Application:
    """The aiohttp application of the simulated vendor."""
    app = web.Application()
    app[STATE] = _VendorState(latency_ms)
    app.router.add_post("/v1/chat/completions", _chat_completions)
    app.router.add_post("/v1/messages", _messages)
    app.router.add_get("/v1/models", _models)
    return app


def _url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/v1"


class SimulatedVendor:
    """The simulated vendor serving from a background thread with its own loop."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, latency_ms: int = 0):
        self.host = host
        self._app = simulated_vendor_app(latency_ms)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._socket = socket.socket(family, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.port: int = self._socket.getsockname()[1]
        self.url = _url(host, self.port)
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._serve, name=f"simulated-vendor-{self.port}", daemon=True
        )

    def start(self) -> SimulatedVendor:
        self._thread.start()
        self._ready.wait(timeout=10)
        if self._error is not None:
            raise self._error
        logger.info("simulated vendor started url=%s", self.url)
        return self

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        runner = web.AppRunner(
            self._app,
            handle_signals=False,
            access_log=None,
            # A client that gives up cancels the sleeping handler, so a timeout
            # fault does not hold the server back at shutdown.
            handler_cancellation=True,
            shutdown_timeout=SHUTDOWN_SECONDS,
        )
        try:
            self._loop.run_until_complete(runner.setup())
            site = web.SockSite(runner, self._socket)
            self._loop.run_until_complete(site.start())
        except BaseException as error:  # handed to start() in the caller's thread
            self._error = error
            self._ready.set()
            return
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._loop.run_until_complete(runner.cleanup())
            self._loop.close()

    def reset(self) -> None:
        """Forget how often each request was attempted (for ``first=<n>`` faults)
        and when requests arrived."""
        self._app[STATE].reset()

    def arrival_times(self) -> list[float]:
        """When each chat request arrived, as ``time.monotonic()`` in this process."""
        return self._app[STATE].arrival_times()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        self._socket.close()
        logger.info("simulated vendor stopped url=%s", self.url)

    def __enter__(self) -> SimulatedVendor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def simulated_vendor_start(
    host: str = "127.0.0.1", port: int = 0, latency_ms: int = 0
) -> SimulatedVendor:
    """Start the simulated vendor in a background thread; ``.url``, ``.stop()``."""
    return SimulatedVendor(host, port, latency_ms).start()


def simulated_vendor_serve(host: str, port: int, latency_ms: int = 0) -> None:
    """Serve in the foreground until interrupted (the management command)."""
    web.run_app(
        simulated_vendor_app(latency_ms),
        host=host,
        port=port,
        print=None,
        access_log=None,
        handler_cancellation=True,
        shutdown_timeout=SHUTDOWN_SECONDS,
    )
