#!/usr/bin/env bash
# make test: the whole suite. Without DATABASE_URL it runs on SQLite; tests that need
# PostgreSQL, Redis or Chromium skip with a reason, unless CI=true, where they must run.
set -uo pipefail
cd "$(dirname "$0")/.."
export SECRET_KEY="${SECRET_KEY:-test-only-secret-key}"
export DEBUG="${DEBUG:-false}"
export FLAGSITE_VAR_DIR="${FLAGSITE_VAR_DIR:-$PWD/var/test}"
# The production settings (Secure cookies, HSTS, the CSP), except the redirect to https: the
# test servers speak plain HTTP on localhost (where browsers accept Secure cookies).
export SECURE_SSL_REDIRECT="${SECURE_SSL_REDIRECT:-false}"
mkdir -p test-output
exec .venv/bin/python -m pytest "$@"
