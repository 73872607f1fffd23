#!/usr/bin/env bash
# The production start of a web process (docs/operations.md): collect the static files into
# STATIC_ROOT ($FLAGSITE_VAR_DIR/static), where WhiteNoise serves them, then run gunicorn.
# Migrations are a release step of their own (`manage.py migrate`), not run by every process.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${BIN:-.venv/bin}"
"$BIN/python" manage.py collectstatic --no-input -v 0
# gthread: keep-alive connections (SDKs and browsers reuse them) served by WEB_THREADS threads
# per worker; chosen against sync and granian with bench/api.py (docs/benchmarks.md, "API").
exec "$BIN/gunicorn" flagsite.wsgi \
  --bind "${HOST:-127.0.0.1}:${PORT:-8000}" \
  --workers "${WEB_CONCURRENCY:-2}" \
  --worker-class gthread \
  --threads "${WEB_THREADS:-4}" \
  --access-logfile - \
  "$@"
