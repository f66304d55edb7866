"""``/healthz``: whether the web can serve, and whether a Celery worker answers.

The answer is 503 only when the database or Redis is down: the web needs the first
for every page and the second to send the tasks its pages start. A worker that does
not answer is reported in the body but leaves the answer 200: the web still serves,
and the workers' own health checks are what say a worker is down. Otherwise a worker
outage, or a worker still starting, would mark a serving web unhealthy.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import redis
from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from kombu.exceptions import OperationalError as BrokerError

from config.celery import app as celery_app

logger = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"
# Probes call this every few seconds; no check may keep one waiting for long.
CHECK_TIMEOUT_SECONDS = 1.0


def database_answers() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except DatabaseError as exc:
        logger.warning("health: the database did not answer: %s", exc)
        return False


def redis_answers() -> bool:
    client = redis.Redis.from_url(
        settings.REDIS_URL,
        socket_timeout=CHECK_TIMEOUT_SECONDS,
        socket_connect_timeout=CHECK_TIMEOUT_SECONDS,
    )
    try:
        return bool(client.ping())
    except redis.RedisError as exc:
        logger.warning("health: Redis did not answer: %s", exc)
        return False
    finally:
        client.close()


def worker_answers() -> bool:
    """Whether at least one Celery worker answers a ping through the broker."""
    # Limitation: a worker with the solo pool answers only between tasks, so one busy
    # with a long evaluation run reads as down. The prefork pool that bin/run and the
    # Docker image use answers from its main process while its children work.
    try:
        with celery_app.connection_for_write(
            connect_timeout=CHECK_TIMEOUT_SECONDS
        ) as broker:
            broker.ensure_connection(max_retries=0)
            replies = celery_app.control.ping(
                timeout=CHECK_TIMEOUT_SECONDS, limit=1, connection=broker
            )
    except (BrokerError, OSError, redis.RedisError) as exc:
        logger.warning("health: the Celery broker did not answer: %s", exc)
        return False
    if not replies:
        logger.warning("health: no Celery worker answered a ping")
    return bool(replies)


@require_safe
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Report each dependency as true or false; 503 if the web's own are down."""
    checks = {
        "database": database_answers(),
        "redis": redis_answers(),
        "worker": worker_answers(),
    }
    web_serves = checks["database"] and checks["redis"]
    return JsonResponse(checks, status=200 if web_serves else 503)


class HealthCheckMiddleware:
    """Answer ``/healthz`` before any other middleware sees the request."""

    # Probes call the container by its own address, over plain HTTP and signed out:
    # host validation, the HTTPS redirect, the login requirement and the workspace
    # lookup would each turn the answer into an error or a redirect.

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info == HEALTH_PATH:
            return healthz(request)
        return self.get_response(request)
