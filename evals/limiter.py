"""Requests-per-minute limits that every worker process shares through Redis.

There is one limit per (endpoint base URL, API key, model): two runs against the
same endpoint, in the same worker or in two, draw from the same allowance, which
is what a vendor's rate limit counts.

The algorithm is a sliding-window log: a Redis sorted set holds the grant time of
every request of the last window, and one Lua script (atomic in Redis) drops the
expired entries, counts the rest and either records a new grant or says how long
until the oldest entry leaves the window. It is exact: no window of the configured
length ever holds more grants than the limit. The clock is Redis's own, so workers
on machines with drifting clocks still agree.

A request reaches the vendor a few milliseconds after its grant, by an amount
that varies, so the vendor's own count over the same window could see one or two
more than the limit. Grants are therefore spaced over a window 2% longer than
the configured one (at most half a second longer), which costs at most 2% of the
allowance and keeps the vendor's count within the limit.

We wrote the script rather than use the ``limits`` package: its moving window is
the same algorithm, but it offers no waiting acquire (only hit-or-refuse plus a
second, non-atomic call for the reset time), windows come in whole time units,
and it would be a dependency for some twenty lines of Lua.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import random
from collections.abc import Callable

from redis.asyncio import Redis

logger = logging.getLogger(__name__)

KEY_PREFIX = "candor:rpm:"
ARRIVAL_MARGIN_FRACTION = 0.02
ARRIVAL_MARGIN_MAX_SECONDS = 0.5

# KEYS[1]: the sorted set. ARGV: limit, window in microseconds, a unique member.
# Returns {1, grant time in microseconds} or {0, microseconds to wait}.
SLIDING_WINDOW_SCRIPT = """
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
if redis.call('ZCARD', key) < limit then
  redis.call('ZADD', key, now, ARGV[3])
  redis.call('PEXPIRE', key, math.ceil(window / 1000) + 1000)
  return {1, now}
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
return {0, tonumber(oldest[2]) + window - now}
"""


def key_fingerprint(api_key: str) -> str:
    """A short hash that tells API keys apart without revealing them."""
    return hashlib.sha256(api_key.encode()).hexdigest()[:16]


def limit_key(base_url: str, api_key: str, model: str) -> str:
    """The Redis key of the limit for one endpoint, key and model."""
    identity = "\n".join((base_url.rstrip("/"), key_fingerprint(api_key), model))
    return KEY_PREFIX + hashlib.sha256(identity.encode()).hexdigest()


class RateLimiter:
    """At most ``limit`` grants in any ``window_seconds``; ``acquire`` waits for one.

    A limit of 0 means no limit. The Redis client must belong to the event loop
    that calls ``acquire``.
    """

    def __init__(
        self, redis: Redis, key: str, *, limit: int, window_seconds: float = 60
    ) -> None:
        self.redis = redis
        self.key = key
        self.limit = limit
        margin = min(
            window_seconds * ARRIVAL_MARGIN_FRACTION, ARRIVAL_MARGIN_MAX_SECONDS
        )
        self.window_us = max(1, round((window_seconds + margin) * 1_000_000))
        self._script = redis.register_script(SLIDING_WINDOW_SCRIPT)

    async def acquire(
        self, on_wait: Callable[[float], None] | None = None
    ) -> float | None:
        """Wait until a request may be sent; return its grant time (Redis clock, s).

        Returns None when there is no limit. ``on_wait`` hears each wait's length
        in seconds before it starts, so a caller can say why it is waiting.
        """
        if self.limit <= 0:
            return None
        while True:
            granted, value = await self._script(
                keys=[self.key],
                args=[self.limit, self.window_us, os.urandom(8).hex()],
            )
            if granted:
                return int(value) / 1_000_000
            # Waiters that wake together would race for one slot; a little
            # jitter spreads them out so most wake to a free slot.
            wait = int(value) / 1_000_000 + random.uniform(0.001, 0.02)
            logger.debug("rate limit full, waiting %.3f s key=%s", wait, self.key)
            if on_wait is not None:
                on_wait(wait)
            await asyncio.sleep(wait)
