from __future__ import annotations

import logging

from celery import shared_task

from dashboards import services

logger = logging.getLogger(__name__)


# Printing takes a few seconds; the limits stop a hung Chromium from holding a
# worker. The soft limit raises inside the print, which marks the report failed.
@shared_task(acks_late=True, soft_time_limit=90, time_limit=120)
def report_print(report_id: int) -> None:
    """Print one queued PDF report."""
    services.report_print(report_id)
