"""Publish each environment's ruleset after a change, and serve it from memory.

The database is the authority: `Environment.ruleset_version` moves in the same transaction as
the change. Every web process serves its in-process compiled copy and, at most once per
FLAGSITE_RULESET_CHECK_INTERVAL seconds, reads the committed versions of every environment (one
tiny query, shared by all environments). When an environment's version moved it loads the new
ruleset: the body from the shared cache (Redis) when the cache holds that version, otherwise it
builds it from the database (and writes it to the cache, healing it). The cache only saves
rebuilding; it can be stale, empty, or down without any process serving an old ruleset for
longer than the check interval plus the time to load it.

A new version is compiled off the request path: the request that notices it starts a background
thread and keeps serving the copy it has; the thread swaps the new copy in when it is ready. Only
the first load in a process (nothing to serve yet) blocks. Compiling reuses the functions of
flags whose JSON (and segments) did not change.

Failure modes:
- cache unreachable: bodies are built from the database; the cache is retried after a few
  seconds; the publisher reports "not yet published to every server" (flags.publish_commit);
- database unreachable: the in-process copy keeps serving, however old;
- nothing in memory, nothing reachable: the caller gets the exception (the API answers 503).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connections
from flagsite_sdk.engine import Ruleset, compile_ruleset

from .models import Environment
from .ruleset import ruleset_build

log = logging.getLogger(__name__)

# After the cache fails, leave it alone this long: a dead Redis must not cost every request a
# connection attempt.
CACHE_RETRY_SECONDS = 5.0
# Compile new versions in a background thread (tests that share the test transaction with the
# server code switch it off: another thread would not see their uncommitted rows).
BACKGROUND_LOAD = True


@dataclass(frozen=True)
class Published:
    environment: str
    version: int
    etag: str
    body: bytes
    data: dict[str, Any]
    compiled: Ruleset
    # Flags whose evaluation may bucket on the targeting key (OFREP's TARGETING_KEY_MISSING).
    keyed_flags: frozenset[str]


_local: dict[str, Published] = {}
_next_check: dict[str, float] = {}
_lock = threading.Lock()
_cache_down_until = 0.0
# The committed versions: {environment key: (id, ruleset_version)}, read at most once per
# check interval for all environments together.
_db_versions: dict[str, tuple[int, int]] = {}
_db_versions_until = 0.0
# Environments a background thread is loading now (at most one thread per environment).
_loading: set[str] = set()
# The process whose watcher thread runs (a forked web worker starts its own).
_watcher_pid = 0


def _body_key(env_key: str) -> str:
    return f"ruleset:body:{env_key}"


def _version_key(env_key: str) -> str:
    return f"ruleset:version:{env_key}"


def _check_interval() -> float:
    return float(getattr(settings, "FLAGSITE_RULESET_CHECK_INTERVAL", 1.0))


def _make(env_key: str, version: int, body: bytes, previous: Published | None = None) -> Published:
    data = json.loads(body)
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    reuse = previous.compiled if previous is not None else None
    compiled = compile_ruleset(data, previous=reuse)
    return Published(env_key, version, etag, body, data, compiled, _keyed_flags(data))


def _keep(published: Published) -> Published:
    """Install a copy in this process unless a newer one is already here; return the winner."""
    with _lock:
        current = _local.get(published.environment)
        if current is not None and current.version > published.version:
            published = current
        _local[published.environment] = published
        _next_check[published.environment] = time.monotonic() + _check_interval()
    return published


def _cache_failed() -> None:
    global _cache_down_until
    _cache_down_until = time.monotonic() + CACHE_RETRY_SECONDS
    log.warning(
        "ruleset cache unreachable; using the database and in-process copies", exc_info=True
    )


def _cache_usable() -> bool:
    return time.monotonic() >= _cache_down_until


def cache_store(published: Published) -> bool:
    """Put a ruleset in the shared cache unless it already holds a newer one. True when the
    cache now holds this version or a newer one; False when the cache is (or was just) down."""
    if not _cache_usable():
        return False
    env_key = published.environment
    try:
        # Two commits can publish out of order; never replace a newer ruleset with an older
        # one. (Not atomic: a reader compares the body's version with the database's, so a
        # lost race costs a rebuild, never a stale answer.)
        # (Equal versions are written again: that refills a body the cache evicted.)
        stored = cache.get(_version_key(env_key))
        if stored is None or int(stored) <= published.version:
            cache.set_many(
                {
                    _body_key(env_key): (published.version, published.body),
                    _version_key(env_key): published.version,
                },
                timeout=None,
            )
        return True
    except Exception:  # the change already committed; the cache being down must not fail it
        _cache_failed()
        return False


def cache_version(env_key: str) -> int | None:
    """The version the shared cache holds (None: nothing, or the cache is down)."""
    if not _cache_usable():
        return None
    try:
        stored = cache.get(_version_key(env_key))
    except Exception:
        _cache_failed()
        return None
    return None if stored is None else int(stored)


def ruleset_publish(environment_id: int) -> Published:
    """Build from the database, store in the shared cache (unless it already holds a newer
    version), keep a compiled copy here."""
    published, _ = ruleset_publish_checked(environment_id)
    return published


def ruleset_publish_checked(environment_id: int) -> tuple[Published, bool]:
    """ruleset_publish, also saying whether the shared cache now holds the version."""
    env = Environment.objects.only("key", "ruleset_version").get(pk=environment_id)
    data = ruleset_build(env)
    body = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
    published = _make(env.key, env.ruleset_version, body, _local.get(env.key))
    stored = cache_store(published)
    return _keep(published), stored


def ruleset_current(env_key: str, environment_id: int | None = None) -> Published:
    """The current ruleset for an environment. In steady state: two dict lookups and a clock
    read; at most one tiny database query per check interval (for all environments)."""
    local = _local.get(env_key)
    if local is not None and time.monotonic() < _next_check.get(env_key, 0.0):
        return local
    try:
        return _refresh(env_key, local)
    except Exception:
        if local is None:
            raise
        log.warning(
            "could not refresh the %s ruleset; serving version %s from memory",
            env_key,
            local.version,
            exc_info=True,
        )
        _next_check[env_key] = time.monotonic() + _check_interval()
        return local


def ruleset_if_fresh(env_key: str) -> Published | None:
    """The in-process ruleset when no check is due, else None: memory only, never the database
    or the cache (the WSGI lane leaves the check to the ordinary path, delivery/wsgilane.py)."""
    local = _local.get(env_key)
    if local is not None and time.monotonic() < _next_check.get(env_key, 0.0):
        return local
    return None


def _committed_versions() -> dict[str, tuple[int, int]]:
    """Every environment's committed ruleset version, read at most once per check interval."""
    global _db_versions, _db_versions_until
    now = time.monotonic()
    if now < _db_versions_until:
        return _db_versions
    # Whatever happens, not again before the interval: a dead database must not be asked on
    # every request.
    _db_versions_until = now + _check_interval()
    rows = Environment.objects.values_list("key", "id", "ruleset_version")
    _db_versions = {key: (env_id, version) for key, env_id, version in rows}
    return _db_versions


def _refresh(env_key: str, local: Published | None) -> Published:
    versions = _committed_versions()
    row = versions.get(env_key)
    if row is None:
        # Maybe created since the last read: ask once more, then give up.
        global _db_versions_until
        _db_versions_until = 0.0
        row = _committed_versions().get(env_key)
        if row is None:
            raise Environment.DoesNotExist(env_key)
    env_id, version = row
    if local is not None and version <= local.version:
        _next_check[env_key] = time.monotonic() + _check_interval()
        return local
    background = _background()
    if background:
        _watcher_start()
    if local is None or not background:
        return _load(env_key, env_id, version, local)
    # Keep serving what we have; a background thread compiles the new version and swaps it in.
    _next_check[env_key] = time.monotonic() + _check_interval()
    with _lock:
        if env_key in _loading:
            return local
        _loading.add(env_key)
    threading.Thread(
        target=_load_in_background,
        args=(env_key, env_id, version),
        name=f"ruleset-load-{env_key}",
        daemon=True,
    ).start()
    return local


def _background() -> bool:
    return BACKGROUND_LOAD and bool(getattr(settings, "FLAGSITE_RULESET_BACKGROUND_LOAD", True))


def _watcher_start() -> None:
    """One watcher thread per process checks the committed versions every interval, so a process
    that serves no request for a while (an idle worker, a quiet environment) has the new version
    loaded before its next request instead of answering that request with the old one."""
    global _watcher_pid
    pid = os.getpid()
    if _watcher_pid == pid:
        return
    with _lock:
        if _watcher_pid == pid:
            return
        _watcher_pid = pid
    threading.Thread(target=_watch, name="ruleset-watch", daemon=True).start()


def _watch() -> None:
    global _watcher_pid
    while True:
        time.sleep(_check_interval())
        if not _background():  # switched off (tests): stop; the next refresh may start one
            with _lock:
                _watcher_pid = 0
            return
        try:
            for env_key in list(_local):
                if time.monotonic() >= _next_check.get(env_key, 0.0):
                    ruleset_current(env_key)  # a newer version starts a background load
        except Exception:
            log.warning("ruleset watcher: could not check the versions", exc_info=True)
            connections.close_all()  # this thread's connection; a new one next time


def _load_in_background(env_key: str, env_id: int, version: int) -> None:
    try:
        _load(env_key, env_id, version, _local.get(env_key))
    except Exception:
        log.warning("could not load version %s of the %s ruleset", version, env_key, exc_info=True)
        # Try again at the next check, not on the very next request.
        _next_check[env_key] = time.monotonic() + _check_interval()
    finally:
        with _lock:
            _loading.discard(env_key)
        connections.close_all()  # this thread's own database connection


def _load(env_key: str, env_id: int, version: int, local: Published | None) -> Published:
    """Load at least `version`: the cache's body when it is that new, else build it."""
    if _cache_usable():
        try:
            stored = cache.get(_body_key(env_key))
        except Exception:
            _cache_failed()
        else:
            # Exactly the database's version: a newer body is a race the next check settles, and
            # one from another database (a restored backup, a recreated test database) must
            # never be served.
            if stored is not None and int(stored[0]) == version:
                return _keep(_make(env_key, version, stored[1], local))
    # The cache is down, empty, or behind the database (a failed or lost write): build it
    # from the database, and put it in the cache for the other processes.
    return ruleset_publish(env_id)


def ruleset_loading() -> bool:
    """True while a background thread is loading a new version (tests wait on it)."""
    return bool(_loading)


def _bucket_by_key(serve_or_gate: Any) -> bool:
    if not isinstance(serve_or_gate, dict):
        return False
    by = serve_or_gate.get("bucket_by")
    # No bucket_by (missing or null) means the targeting key, as in the engine.
    return by is None or by == "key" or (isinstance(by, list) and "key" in by)


def _segment_refs(clauses: Any) -> list[str]:
    if not isinstance(clauses, list):
        return []
    return [
        ref
        for c in clauses
        if isinstance(c, dict) and c.get("op") == "segment"
        for ref in c.get("values") or []
        if isinstance(ref, str)
    ]


def _spread(start: set[str], users: dict[str, list[str]]) -> set[str]:
    """`start` and everything that uses it, directly or not (each node visited once)."""
    reached, work = set(start), list(start)
    while work:
        for user in users.get(work.pop(), ()):
            if user not in reached:
                reached.add(user)
                work.append(user)
    return reached


def _keyed_flags(data: dict[str, Any]) -> frozenset[str]:
    """Flags whose result may depend on bucketing the targeting key: a split, a rule rollout,
    or a segment with a percentage (directly or through another segment).

    Linear in the size of the ruleset: the bucketing segments and flags spread backwards along
    the reference edges, each visited once (walking down from every flag took time exponential
    in the segment nesting)."""
    segments: dict[str, Any] = data.get("segments") or {}
    flags: dict[str, Any] = data.get("flags") or {}
    segment_users: dict[str, list[str]] = {}
    bucketing: set[str] = set()
    for key, seg in segments.items():
        if not isinstance(seg, dict):
            continue
        for ref in _segment_refs(seg.get("clauses")):
            segment_users.setdefault(ref, []).append(key)
        if seg.get("percentage") is not None and _bucket_by_key(seg):
            bucketing.add(key)
    bucketing = _spread(bucketing, segment_users)

    def serve_buckets(serve: Any) -> bool:
        return isinstance(serve, dict) and "split" in serve and _bucket_by_key(serve)

    keyed = set()
    requirers: dict[str, list[str]] = {}
    for key, flag in flags.items():
        if not isinstance(flag, dict):
            continue
        for p in flag.get("prerequisites") or []:
            if isinstance(p, dict) and isinstance(p.get("flag"), str):
                requirers.setdefault(p["flag"], []).append(key)
        rules = [r for r in flag.get("rules") or [] if isinstance(r, dict)]
        if serve_buckets(flag.get("default")) or any(
            (rule.get("rollout") and _bucket_by_key(rule["rollout"]))
            or serve_buckets(rule.get("serve"))
            or not bucketing.isdisjoint(_segment_refs(rule.get("clauses")))
            for rule in rules
        ):
            keyed.add(key)
    # A prerequisite evaluates another flag for the same context: inherit its bucketing.
    return frozenset(_spread(keyed, requirers))


def ruleset_forget_local() -> None:
    """Drop this process's copies (tests, and after a restore from backup)."""
    global _cache_down_until, _db_versions_until
    with _lock:
        _local.clear()
        _next_check.clear()
        _db_versions.clear()
        _db_versions_until = 0.0
        _cache_down_until = 0.0
