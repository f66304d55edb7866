#!/usr/bin/env sh
# Celery beat: schedules periodic work (stalled-run sweeps, scheduled re-runs).
set -eu
exec celery -A config beat \
  --schedule "${CANDOR_VAR_DIR:-/var/lib/candor}/celerybeat-schedule" \
  --loglevel "${CELERY_LOG_LEVEL:-INFO}"
