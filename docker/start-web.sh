#!/usr/bin/env sh
# Apply migrations (which also load the built-in frameworks), then serve with gunicorn.
set -eu
python manage.py migrate --noinput
# Tokens in link URLs are written as [token] in the access log. gunicorn's control
# socket stays off: its default path in the home folder is shared by every gunicorn
# of the same user.
exec gunicorn config.wsgi \
  --bind "0.0.0.0:${PORT:-8000}" \
  --workers "${GUNICORN_WORKERS:-3}" \
  --threads "${GUNICORN_THREADS:-4}" \
  --access-logfile - --error-logfile - \
  --logger-class config.gunicorn_logging.TokenRedactingLogger --no-control-socket
