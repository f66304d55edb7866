"""The Redis-backed requests-per-minute limiter, on the real Redis."""

from __future__ import annotations

import asyncio
import multiprocessing
import time
import uuid

import pytest
import redis
from django.conf import settings
from redis.asyncio import Redis

from evals.limiter import RateLimiter, key_fingerprint, limit_key

API_KEY = "sk-limiter-test-0123456789"


@pytest.fixture
def redis_url() -> str:
    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1).ping()
    except redis.RedisError:
        pytest.skip(f"no Redis answers at {settings.REDIS_URL}; bin/test starts one")
    return settings.REDIS_URL


@pytest.fixture
def key() -> str:
    # A key of its own per test, so tests never share a window.
    return limit_key(f"http://127.0.0.1/{uuid.uuid4().hex}", API_KEY, "model-a")


async def _grant_times(
    url: str, key: str, *, limit: int, window: float, requests: int, parallel: int
) -> list[float]:
    client = Redis.from_url(url)
    limiter = RateLimiter(client, key, limit=limit, window_seconds=window)
    times: list[float] = []
    pending = iter(range(requests))

    async def take() -> None:
        for _ in pending:
            times.append(await limiter.acquire())

    try:
        await asyncio.gather(*(take() for _ in range(parallel)))
    finally:
        await client.aclose()
    return times


def _grant_times_in_process(url, key, limit, window, requests, parallel, out) -> None:
    """Runs in a separate process: its own event loop and Redis connection."""
    times = asyncio.run(
        _grant_times(
            url, key, limit=limit, window=window, requests=requests, parallel=parallel
        )
    )
    out.put(times)


def _most_in_any_window(times: list[float], window: float) -> int:
    ordered = sorted(times)
    most, start = 0, 0
    for end, at in enumerate(ordered):
        while at - ordered[start] >= window:
            start += 1
        most = max(most, end - start + 1)
    return most


def test_it_never_grants_more_than_the_limit_in_any_window(redis_url, key):
    started = time.monotonic()

    times = asyncio.run(
        _grant_times(redis_url, key, limit=4, window=0.5, requests=12, parallel=6)
    )

    assert len(times) == 12
    assert _most_in_any_window(times, 0.5) == 4
    # Twelve grants at four per half second need at least two full windows.
    assert time.monotonic() - started >= 1.0


def test_grants_leave_a_margin_for_the_trip_to_the_vendor(redis_url, key):
    # A request granted at the end of one window must not land in the vendor's
    # next window along with the grants that replace it.
    times = asyncio.run(
        _grant_times(redis_url, key, limit=2, window=1.0, requests=6, parallel=2)
    )

    assert _most_in_any_window(times, 1.019) == 2


def test_two_processes_share_one_limit(redis_url, key):
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    workers = [
        context.Process(
            target=_grant_times_in_process,
            args=(redis_url, key, 5, 0.6, 10, 4, out),
        )
        for _ in range(2)
    ]

    for worker in workers:
        worker.start()
    times = out.get(timeout=60) + out.get(timeout=60)
    for worker in workers:
        worker.join(timeout=10)

    assert len(times) == 20
    assert _most_in_any_window(times, 0.6) == 5


def test_limits_of_different_models_do_not_share(redis_url):
    base = f"http://127.0.0.1/{uuid.uuid4().hex}"
    keys = [limit_key(base, API_KEY, model) for model in ("model-a", "model-b")]
    started = time.monotonic()

    async def both() -> list[list[float]]:
        return await asyncio.gather(
            *(
                _grant_times(redis_url, key, limit=3, window=5, requests=3, parallel=3)
                for key in keys
            )
        )

    asyncio.run(both())

    # Each model's three requests fit its own window: nobody waited 5 s.
    assert time.monotonic() - started < 2


def test_a_limit_of_zero_means_no_limit(redis_url, key):
    times = asyncio.run(
        _grant_times(redis_url, key, limit=0, window=60, requests=50, parallel=5)
    )

    assert times == [None] * 50


def test_the_redis_key_reveals_neither_the_api_key_nor_its_fingerprint():
    key = limit_key("https://api.vendor.example/v1", API_KEY, "model-a")

    assert API_KEY not in key
    assert key_fingerprint(API_KEY) not in key
    assert key != limit_key("https://api.vendor.example/v1", API_KEY + "x", "model-a")
