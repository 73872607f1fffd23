#!/usr/bin/env bash
# make run: migrate, load demo data, start web + Celery worker/beat, print how to get in.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export DEBUG="${DEBUG:-true}"
PORT="${PORT:-8000}"
HOST="${HOST:-127.0.0.1}"

if [[ -n "${DATABASE_URL:-}" ]]; then db="PostgreSQL (DATABASE_URL)"; else db="SQLite (${FLAGSITE_VAR_DIR:-var}/flagsite.sqlite3)"; fi
if [[ -n "${REDIS_URL:-}" ]]; then cache="Redis (REDIS_URL)"; else cache="in-process cache, filesystem broker"; fi
echo "==> database: $db; cache/broker: $cache"
echo "==> migrating"
$BIN/python manage.py migrate --no-input -v 0
echo "==> loading demo data"
$BIN/python manage.py demo_data

pids=()
cleanup() {
  echo; echo "==> stopping"
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

echo "==> starting the Celery worker with beat"
# Runtime files (beat's schedule, the filesystem broker) go under FLAGSITE_VAR_DIR (settings).
$BIN/celery -A flagsite worker --beat --loglevel=warning --concurrency=1 -n default@%h &
pids+=($!)
echo "==> starting the Celery worker for rollout checks (queue: rollouts)"
$BIN/celery -A flagsite worker -Q rollouts --loglevel=warning --concurrency=1 -n rollouts@%h &
pids+=($!)
echo "==> starting the web server"
$BIN/python manage.py runserver "$HOST:$PORT" --noreload &
pids+=($!)

sleep 2
cat <<MSG

  flagsite is running:   http://$HOST:$PORT/
  log in as:             admin / flagsite-demo   (also: editor, viewer - same password)
  development keys:      server fs_srv_demo_development_server_key
                         client fs_cli_demo_development_client_key
  try:  curl -s -X POST http://$HOST:$PORT/api/v1/evaluate \\
          -H 'Authorization: Bearer fs_cli_demo_development_client_key' \\
          -H 'Content-Type: application/json' -d '{"context": {"key": "alice"}}'

  Ctrl-C stops everything.
MSG
wait -n "${pids[@]}"
