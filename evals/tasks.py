"""Background work for evaluation runs. Each task takes ids and calls one service."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings

from evals import services

logger = logging.getLogger(__name__)

# A run may take hours against a slow, rate-limited endpoint. The runner stops
# itself at CANDOR_RUN_TIME_LIMIT_SECONDS; these limits are the backstop above it.
RUN_SOFT_TIME_LIMIT = settings.CANDOR_RUN_TIME_LIMIT_SECONDS + 300
RUN_HARD_TIME_LIMIT = settings.CANDOR_RUN_TIME_LIMIT_SECONDS + 600


@shared_task(
    acks_late=True, soft_time_limit=RUN_SOFT_TIME_LIMIT, time_limit=RUN_HARD_TIME_LIMIT
)
def run_execute(run_id: int) -> None:
    """Drive one evaluation run, or resume it after its worker died."""
    services.run_execute(run_id)


@shared_task(acks_late=True, soft_time_limit=60, time_limit=90)
def runs_resume() -> None:
    """Re-enqueue runs whose worker died or whose message was lost (periodic, and
    after a worker starts)."""
    services.runs_resume()


@shared_task(acks_late=True, soft_time_limit=60, time_limit=90)
def reruns_start_due() -> None:
    """Start the owner-scheduled re-runs that are due (periodic)."""
    services.reruns_start_due()


@worker_ready.connect
def _resume_after_start(sender=None, **kwargs) -> None:
    # Runs stale already are resumed now; a run whose worker died just before
    # this one started is not stale yet, so look again once it would be.
    try:
        runs_resume.delay()
        runs_resume.apply_async(countdown=settings.CANDOR_RUN_STALE_SECONDS + 1)
    except Exception:
        logger.exception("could not enqueue the resume sweep at worker start")
