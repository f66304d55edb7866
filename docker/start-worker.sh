#!/usr/bin/env sh
# A Celery worker; CELERY_QUEUES picks the queues it consumes.
set -eu
exec celery -A config worker \
  --queues "${CELERY_QUEUES:-celery,runs}" \
  --concurrency "${CELERY_CONCURRENCY:-2}" \
  --loglevel "${CELERY_LOG_LEVEL:-INFO}"
