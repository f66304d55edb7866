"""Background work for assessments. Each task takes ids and calls one service."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import OperationalError

from assessments.services import assessment_rescore, assessment_rescore_sweep

logger = logging.getLogger(__name__)


@shared_task(
    acks_late=True,
    soft_time_limit=60,
    time_limit=90,
    # SQLite can report "database is locked" under a burst of writes.
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=3,
)
def rescore_assessment(assessment_id: int) -> None:
    """Recompute and store one assessment's score; a deleted assessment is skipped."""
    logger.info("rescoring assessment=%s", assessment_id)
    assessment_rescore(assessment_id)


@shared_task(acks_late=True, soft_time_limit=60, time_limit=90)
def rescore_sweep() -> None:
    """Re-enqueue rescorings whose task was lost (say, with a broker restart)."""
    count = assessment_rescore_sweep()
    if count:
        logger.info("rescore sweep enqueued %s assessments", count)
