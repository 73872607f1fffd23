#!/usr/bin/env bash
# make test: the whole suite. Without DATABASE_URL it runs on SQLite; tests that need
# PostgreSQL, Redis or Chromium skip with a reason, unless CI=true, where they must run.
#
# In parallel: PYTEST_WORKERS pytest-xdist workers (default 2, one per core of CI's machine:
# 3 measured slower on 2 cores), each with its own test database, Redis database and var dir
# (tests/xdist_worker.py); `--dist loadgroup` keeps the tests marked `xdist_group` (one
# expensive setup each) on one worker, also with an explicit `-n`. PYTEST_WORKERS=0 runs
# serially. Given test paths (`scripts/test.sh tests/flags/test_diff.py`), it runs serially
# unless PYTEST_WORKERS is set: a few files finish before workers would have started. An
# explicit `-n`/`--numprocesses` or `-p no:xdist` in the arguments wins.
# docs/operations.md, "Tests and CI".
set -uo pipefail
cd "$(dirname "$0")/.."
export SECRET_KEY="${SECRET_KEY:-test-only-secret-key}"
export DEBUG="${DEBUG:-false}"
export FLAGSITE_VAR_DIR="${FLAGSITE_VAR_DIR:-$PWD/var/test}"
# The production settings (Secure cookies, HSTS, the CSP), except the redirect to https: the
# test servers speak plain HTTP on localhost (where browsers accept Secure cookies).
export SECURE_SSL_REDIRECT="${SECURE_SSL_REDIRECT:-false}"
mkdir -p test-output

workers="${PYTEST_WORKERS-}"
dist=(--dist loadgroup)
for arg in "$@"; do
  case "$arg" in
    -n | -n[0-9]* | -nauto | --numprocesses | --numprocesses=*) workers=explicit ;;
    no:xdist | -pno:xdist) workers=explicit dist=() ;;
    --dist | --dist=* | -d) dist=() ;;
  esac
  # A test path (a file, a folder or a node id): a targeted run.
  if [[ -z "$workers" && "$arg" != -* && -e "${arg%%::*}" ]]; then workers=0; fi
done
workers="${workers:-2}"
parallel=()
if [[ "$workers" == explicit ]]; then
  parallel=("${dist[@]}")
elif [[ "$workers" != 0 ]]; then
  parallel=(-n "$workers" "${dist[@]}")
fi
exec .venv/bin/python -m pytest "${parallel[@]}" "$@"
