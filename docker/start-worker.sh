#!/usr/bin/env sh
# A Celery worker; CELERY_QUEUES picks the queues it consumes (by default all:
# runs for evaluation runs, reports for PDFs, celery for everything else).
set -eu
exec celery -A config worker \
  --queues "${CELERY_QUEUES:-celery,runs,reports}" \
  --concurrency "${CELERY_CONCURRENCY:-2}" \
  --loglevel "${CELERY_LOG_LEVEL:-INFO}"
