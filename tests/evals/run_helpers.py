"""Builders for endpoints and runs against the simulated vendor, for runner tests."""

from __future__ import annotations

from collections import Counter
from typing import Any

from evals import providers
from evals.crypto import secret_encrypt
from evals.models import Endpoint, Run, Sample
from evals.services import run_start

API_KEY = "sk-live-TOPSECRET-4f9a8b7c6d5e"


def endpoint_for(
    offering, vendor_url: str, model: str = "candid", **fields
) -> Endpoint:
    """An endpoint of ``offering`` at the simulated vendor, with an encrypted key."""
    values: dict[str, Any] = {
        "api_kind": "openai_chat",
        "base_url": vendor_url,
        "model_name": model,
        "api_key_encrypted": secret_encrypt(API_KEY),
        "max_concurrency": 16,
        "requests_per_minute": 0,
        "timeout_seconds": 10,
        "is_simulated": True,
    }
    values.update(fields)
    return Endpoint.objects.create(offering=offering, **values)


def run_through(
    capture_on_commit,
    offering,
    user,
    families: list[str],
    *,
    repeats: int = 1,
    fresh: bool = False,
    budget_tokens: int | None = None,
    judge=None,
) -> Run:
    """Start a run and drive it to its end in this process (eager Celery)."""
    with capture_on_commit(execute=True):
        run = run_start(
            offering=offering,
            user=user,
            families=families,
            repeats=repeats,
            fresh=fresh,
            budget_tokens=budget_tokens,
            judge=judge,
        )
    run.refresh_from_db()
    return run


def samples_per_conversation(run: Run) -> Counter:
    return Counter(
        Sample.objects.filter(run=run).values_list(
            "family", "item_key", "variant", "repeat"
        )
    )


class CallCounter:
    """Wraps ``providers.complete`` to count (and optionally alter) the calls."""

    def __init__(self, monkeypatch, before=None) -> None:
        self.calls: list[tuple[str, list[dict]]] = []
        self._real = providers.complete
        self._before = before
        monkeypatch.setattr(providers, "complete", self)

    async def __call__(self, client, config, messages, **kwargs):
        self.calls.append((config.model_name, [dict(m) for m in messages]))
        if self._before is not None:
            await self._before(len(self.calls), config, messages)
        return await self._real(client, config, messages, **kwargs)

    @property
    def count(self) -> int:
        return len(self.calls)
