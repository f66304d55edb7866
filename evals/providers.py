"""Calling a vendor's model: one chat request over either API kind, errors classified.

Two API kinds are spoken: OpenAI-compatible chat completions (``POST
{base_url}/chat/completions``) and Anthropic Messages (``POST {base_url}/messages``).
``complete`` sends one request and either returns a Completion or raises a
ProviderError whose ``kind`` tells the runner what to do: retry a *transient*
error, record a *final* one against the sample, stop the run on *quota*. Nothing is
retried here; retries live in the runner only.

Messages never carry a secret: the API key only travels in a request header, and
any vendor text that echoes it back is scrubbed before it is kept or shown.
"""

from __future__ import annotations

import email.utils
import json
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from yarl import URL

from evals.crypto import secret_decrypt

if TYPE_CHECKING:
    from evals.http import HTTPClient
    from evals.models import Endpoint

logger = logging.getLogger(__name__)

OPENAI_CHAT = "openai_chat"
ANTHROPIC_MESSAGES = "anthropic_messages"
ANTHROPIC_VERSION = "2023-06-01"

NOT_A_COMPLETION = "The endpoint answered with something that is not a chat completion."
_VENDOR_TEXT_LIMIT = 300
# Keys shorter than this are not scrubbed from vendor text: replacing every "x" in
# a reply would destroy it, and a key that short protects nothing anyway.
_SCRUB_MIN_LENGTH = 8
# A 429 with these words is an empty account, not a rate limit: waiting cannot help.
_QUOTA_WORDS = re.compile(
    r"insufficient_quota|\bcredits?\b|billing_hard_limit", re.IGNORECASE
)


@dataclass(frozen=True)
class EndpointConfig:
    """Everything needed to call one endpoint; repr and str never show the key."""

    api_kind: str
    base_url: str
    model_name: str
    api_key: str = field(repr=False)
    timeout_seconds: float

    @property
    def host(self) -> str:
        """The base URL's host, for messages; never its credentials or path."""
        try:
            return URL(self.base_url).host or "the endpoint"
        except (ValueError, TypeError):
            return "the endpoint"


def endpoint_config(endpoint: Endpoint) -> EndpointConfig:
    """The config of ``endpoint`` with its key decrypted.

    Raises evals.crypto.SecretError when the stored key cannot be decrypted (the
    encryption key changed or is missing); its message is readable as it stands.
    """
    api_key = (
        secret_decrypt(endpoint.api_key_encrypted) if endpoint.api_key_encrypted else ""
    )
    return EndpointConfig(
        api_kind=endpoint.api_kind,
        base_url=endpoint.base_url,
        model_name=endpoint.model_name,
        api_key=api_key,
        timeout_seconds=float(endpoint.timeout_seconds),
    )


@dataclass(frozen=True)
class Completion:
    text: str
    tokens_in: int
    tokens_out: int
    raw: dict[str, Any]


class ProviderError(Exception):
    """A call that did not produce a completion.

    ``kind`` is "transient" (worth retrying: 408, 409, 429, 5xx, 529, network
    errors and timeouts), "final" (retrying cannot help: 400, 401, 403, 404, 422, a
    malformed body, a refused address) or "quota" (402 or an exhausted quota: the
    run cannot go on). ``retry_after`` is in seconds, from the response's headers.
    ``cause`` names what went wrong when the status alone does not ("timeout",
    "unreachable", "malformed"); ``body`` is the start of a malformed reply, its
    API key scrubbed, for the transcript.
    """

    def __init__(
        self,
        message: str,
        *,
        kind: str,
        status: int | None = None,
        retry_after: float | None = None,
        cause: str = "",
        body: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.status = status
        self.retry_after = retry_after
        self.cause = cause
        self.body = body

    def __repr__(self) -> str:
        return (
            f"ProviderError({self.message!r}, kind={self.kind!r}, "
            f"status={self.status!r}, retry_after={self.retry_after!r})"
        )


async def complete(
    client: HTTPClient,
    config: EndpointConfig,
    messages: list[dict],
    *,
    system: str = "",
    max_tokens: int = 512,
    temperature: float = 0.0,
) -> Completion:
    """Send one chat request and return the model's reply, or raise ProviderError."""
    url, headers, body = _request_parts(
        config, messages, system=system, max_tokens=max_tokens, temperature=temperature
    )
    logger.debug(
        "provider request kind=%s host=%s model=%s messages=%s",
        config.api_kind,
        config.host,
        config.model_name,
        len(messages),
    )

    # Imported here: evals.http imports ProviderError from this module.
    from evals.http import InvalidURL, TransportError, TransportTimeout

    try:
        response = await client.post(
            url, headers=headers, json=body, timeout=config.timeout_seconds
        )
    except InvalidURL as error:
        # The URL itself is not repeated: it may carry credentials.
        raise ProviderError(
            f"The base URL {error.reason}; check it on the endpoint page.",
            kind="final",
        ) from None
    except TransportTimeout:
        raise ProviderError(
            f"{config.host} did not answer within {config.timeout_seconds:g} seconds.",
            kind="transient",
            cause="timeout",
        ) from None
    except TransportError as error:
        raise ProviderError(
            f"Could not reach {config.host}: {error.reason}",
            kind="transient",
            cause="unreachable",
        ) from None

    text = _scrub(response.text, config.api_key)
    logger.debug(
        "provider response host=%s status=%s body=%s",
        config.host,
        response.status_code,
        text[:2000],
    )
    if response.status_code != 200:
        raise _status_error(response.status_code, response.headers, text)
    return _parse_completion(config.api_kind, text)


def _request_parts(
    config: EndpointConfig,
    messages: list[dict],
    *,
    system: str,
    max_tokens: int,
    temperature: float,
) -> tuple[str, dict[str, str], dict[str, Any]]:
    base = config.base_url.rstrip("/")
    if config.api_kind == ANTHROPIC_MESSAGES:
        # Anthropic takes the system prompt as a field, not as a message.
        system_parts = [system] if system else []
        system_parts += [m["content"] for m in messages if m["role"] == "system"]
        body: dict[str, Any] = {
            "model": config.model_name,
            "max_tokens": max_tokens,
            "temperature": temperature,
            "messages": [m for m in messages if m["role"] != "system"],
        }
        if system_parts:
            body["system"] = "\n\n".join(system_parts)
        headers = {"anthropic-version": ANTHROPIC_VERSION}
        if config.api_key:
            headers["x-api-key"] = config.api_key
        return f"{base}/messages", headers, body

    if config.api_kind == OPENAI_CHAT:
        # Limitation: newer OpenAI reasoning models want max_completion_tokens
        # and reject max_tokens; compatible servers (vLLM, Ollama, most vendors)
        # still take max_tokens. Supporting both needs a per-endpoint option.
        chat = [{"role": "system", "content": system}] if system else []
        body = {
            "model": config.model_name,
            "messages": chat + list(messages),
            "max_tokens": max_tokens,
            "temperature": temperature,
        }
        headers = {}
        if config.api_key:
            headers["Authorization"] = f"Bearer {config.api_key}"
        return f"{base}/chat/completions", headers, body

    raise ProviderError(f"Unknown API kind {config.api_kind!r}.", kind="final")


# Enough of a malformed reply to see what came back, not so much that a
# transcript balloons.
MALFORMED_BODY_LIMIT = 500


def _malformed(text: str) -> ProviderError:
    body = text[:MALFORMED_BODY_LIMIT] + (
        "…" if len(text) > MALFORMED_BODY_LIMIT else ""
    )
    return ProviderError(
        NOT_A_COMPLETION, kind="final", status=200, cause="malformed", body=body
    )


def _parse_completion(api_kind: str, text: str) -> Completion:
    try:
        data = json.loads(text)
    except ValueError:
        raise _malformed(text) from None
    if not isinstance(data, dict):
        raise _malformed(text)

    try:
        if api_kind == ANTHROPIC_MESSAGES:
            reply = _anthropic_text(data)
            usage = data.get("usage") or {}
            tokens = (usage.get("input_tokens"), usage.get("output_tokens"))
        else:
            reply = _openai_text(data)
            usage = data.get("usage") or {}
            tokens = (usage.get("prompt_tokens"), usage.get("completion_tokens"))
    except (KeyError, IndexError, TypeError, AttributeError):
        raise _malformed(text) from None

    return Completion(
        text=reply,
        tokens_in=_count(tokens[0]),
        tokens_out=_count(tokens[1]),
        raw=data,
    )


def _openai_text(data: dict) -> str:
    message = data["choices"][0]["message"]
    content = message.get("content")
    if content is None and isinstance(message.get("refusal"), str):
        return message["refusal"]
    if isinstance(content, list):
        # Some compatible servers answer with content parts.
        return "".join(part["text"] for part in content if part.get("type") == "text")
    if not isinstance(content, str):
        raise TypeError("no text content")
    return content


def _anthropic_text(data: dict) -> str:
    blocks = data["content"]
    if not isinstance(blocks, list):
        raise TypeError("content is not a list of blocks")
    return "".join(block["text"] for block in blocks if block.get("type") == "text")


def _count(value: Any) -> int:
    return value if isinstance(value, int) and value >= 0 else 0


def _scrub(text: str, api_key: str) -> str:
    if len(api_key) >= _SCRUB_MIN_LENGTH and api_key in text:
        return text.replace(api_key, "[redacted]")
    return text


def _vendor_message(text: str) -> str:
    """The human part of a vendor's error body, shortened; "" if there is none."""
    try:
        data = json.loads(text)
    except ValueError:
        return ""
    candidates: list[Any] = []
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict):
            candidates.append(error.get("message"))
        candidates += [error, data.get("message"), data.get("detail")]
    for candidate in candidates:
        if isinstance(candidate, str) and candidate.strip():
            message = " ".join(candidate.split())
            if len(message) > _VENDOR_TEXT_LIMIT:
                message = message[: _VENDOR_TEXT_LIMIT - 1] + "…"
            return message
    return ""


def _with_vendor_text(sentence: str, text: str) -> str:
    vendor = _vendor_message(text)
    return f"{sentence} The endpoint said: {vendor}" if vendor else sentence


_FINAL_MESSAGES = {
    400: "The endpoint refused the request as malformed (400).",
    401: "The API key was refused (401).",
    403: "The API key may not use this model or endpoint (403).",
    404: "Unknown model or wrong base URL (404).",
    422: "The endpoint could not process the request (422).",
}
_TRANSIENT_MESSAGES = {
    408: "The endpoint timed out the request (408).",
    409: "The endpoint reported a conflict (409).",
    429: "The endpoint is rate limiting requests (429).",
    529: "The endpoint is overloaded (529).",
}


def _status_error(status: int, headers: Mapping[str, str], text: str) -> ProviderError:
    if status == 402 or (status == 429 and _QUOTA_WORDS.search(text)):
        return ProviderError(
            _with_vendor_text(
                f"The account's quota or credit is exhausted ({status}).", text
            ),
            kind="quota",
            status=status,
        )
    if status in _TRANSIENT_MESSAGES or status >= 500:
        sentence = _TRANSIENT_MESSAGES.get(
            status, f"The endpoint had a server error ({status})."
        )
        return ProviderError(
            sentence,
            kind="transient",
            status=status,
            retry_after=retry_after_seconds(headers),
        )
    if status in _FINAL_MESSAGES:
        sentence = _FINAL_MESSAGES[status]
        # 401 and 404 say all a founder needs; the body of a 401 may also quote
        # part of the key back.
        if status in (400, 403, 422):
            sentence = _with_vendor_text(sentence, text)
        return ProviderError(sentence, kind="final", status=status)
    if 300 <= status < 400:
        return ProviderError(
            f"The endpoint redirected elsewhere ({status}); check the base URL.",
            kind="final",
            status=status,
        )
    return ProviderError(
        _with_vendor_text(f"The endpoint refused the request ({status}).", text),
        kind="final",
        status=status,
    )


# --- Retry-After and rate-limit reset headers ----------------------------------

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_RESET_HEADER = re.compile(
    r"^(?:x-ratelimit-reset-(?P<openai>[a-z-]+)"
    r"|anthropic-ratelimit-(?P<anthropic>[a-z-]+)-reset)$"
)


def retry_after_seconds(
    headers: Mapping[str, str], *, now: float | None = None
) -> float | None:
    """How long the endpoint asks us to wait, from its headers; None if it does not.

    Reads ``retry-after-ms``, ``Retry-After`` (seconds or an HTTP date), then the
    rate-limit reset headers of OpenAI (``x-ratelimit-reset-requests: 6m0s``) and
    Anthropic (``anthropic-ratelimit-requests-reset: <RFC 3339 time>``). Among reset
    headers, those of an exhausted limit (remaining 0) win; otherwise the soonest.
    ``headers`` must look names up case-insensitively, as a response's do.
    """
    now = time.time() if now is None else now

    milliseconds = _as_float(headers.get("retry-after-ms"))
    if milliseconds is not None:
        return max(milliseconds / 1000, 0.0)
    retry_after = headers.get("retry-after")
    if retry_after is not None:
        seconds = _as_float(retry_after)
        if seconds is None:
            seconds = _http_date_seconds(retry_after, now)
        if seconds is not None:
            return max(seconds, 0.0)

    exhausted: list[float] = []
    others: list[float] = []
    for name, value in headers.items():
        match = _RESET_HEADER.match(name.lower())
        if match is None:
            continue
        if match["openai"]:
            limit = match["openai"]
            seconds = _duration_seconds(value)
            remaining = headers.get(f"x-ratelimit-remaining-{limit}")
        else:
            limit = match["anthropic"]
            seconds = _timestamp_seconds(value, now)
            remaining = headers.get(f"anthropic-ratelimit-{limit}-remaining")
        if seconds is None:
            continue
        (exhausted if (remaining or "").strip() == "0" else others).append(seconds)
    if exhausted:
        return max(exhausted)
    if others:
        return min(others)
    return None


def _as_float(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value.strip())
    except ValueError:
        return None


def _http_date_seconds(value: str, now: float) -> float | None:
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return when.timestamp() - now


def _duration_seconds(value: str) -> float | None:
    """Seconds in an OpenAI-style duration ("1s", "6m0s", "20ms", "1h2m3.5s")."""
    value = value.strip()
    plain = _as_float(value)
    if plain is not None:
        return max(plain, 0.0)
    parts = _DURATION_PART.findall(value)
    if not parts or "".join(n + u for n, u in parts) != value:
        return None
    scale = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    return sum(float(number) * scale[unit] for number, unit in parts)


def _timestamp_seconds(value: str, now: float) -> float | None:
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        return None
    return max(when.timestamp() - now, 0.0)
