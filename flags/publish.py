"""Publish each environment's ruleset after a change, and serve it from memory.

Flow: a change commits -> `ruleset_publish` builds the JSON once from the database, stores it in
the shared cache (Redis in production) with the environment's ruleset version, and keeps a
compiled copy in this process. Every web process serves its in-process copy and, at most once per
FLAGSITE_RULESET_CHECK_INTERVAL seconds and environment, reads the published version (one small
cache read); only when the version moved does it fetch the body and compile it.

Failure modes, in order of preference:
- cache unreachable: the version is read from the database instead (one tiny query per interval),
  and a changed ruleset is rebuilt from the database; the cache is retried after a few seconds;
- database unreachable too: the in-process copy keeps serving, however old;
- nothing in memory, nothing reachable: the caller gets the exception (the API answers 503).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from flagsite_sdk.engine import Ruleset, compile_ruleset

from .models import Environment
from .ruleset import ruleset_build

log = logging.getLogger(__name__)

# After the cache fails, leave it alone this long: a dead Redis must not cost every request a
# connection attempt.
CACHE_RETRY_SECONDS = 5.0


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


def _body_key(env_key: str) -> str:
    return f"ruleset:body:{env_key}"


def _version_key(env_key: str) -> str:
    return f"ruleset:version:{env_key}"


def _check_interval() -> float:
    return float(getattr(settings, "FLAGSITE_RULESET_CHECK_INTERVAL", 1.0))


def _make(env_key: str, version: int, body: bytes) -> Published:
    data = json.loads(body)
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    return Published(env_key, version, etag, body, data, compile_ruleset(data), _keyed_flags(data))


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


def ruleset_publish(environment_id: int) -> Published:
    """Build from the database, store in the shared cache (unless it already holds a newer
    version), keep a compiled copy here."""
    env = Environment.objects.get(pk=environment_id)
    data = ruleset_build(env)
    body = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
    published = _make(env.key, env.ruleset_version, body)
    if _cache_usable():
        try:
            # Two commits can publish out of order; never replace a newer ruleset with an older
            # one. (Not atomic: a reader that finds a body older than the announced version
            # rebuilds from the database, so a lost race heals itself within a check interval.)
            stored = cache.get(_version_key(env.key))
            if stored is None or int(stored) <= published.version:
                cache.set_many(
                    {
                        _body_key(env.key): (published.version, body),
                        _version_key(env.key): published.version,
                    },
                    timeout=None,
                )
        except Exception:  # the change already committed; the cache being down must not fail it
            _cache_failed()
    return _keep(published)


def ruleset_publish_on_commit(environment_id: int) -> None:
    transaction.on_commit(lambda: ruleset_publish(environment_id))


def ruleset_current(env_key: str, environment_id: int | None = None) -> Published:
    """The current ruleset for an environment. In steady state: two dict lookups and a clock
    read; at most one cache read per check interval; no database."""
    local = _local.get(env_key)
    if local is not None and time.monotonic() < _next_check.get(env_key, 0.0):
        return local
    try:
        return _refresh(env_key, environment_id, local)
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


def _refresh(env_key: str, environment_id: int | None, local: Published | None) -> Published:
    if _cache_usable():
        try:
            version = cache.get(_version_key(env_key))
            stored = None
            if version is not None and (local is None or int(version) > local.version):
                stored = cache.get(_body_key(env_key))
        except Exception:
            _cache_failed()
        else:
            if version is not None and local is not None and int(version) <= local.version:
                _next_check[env_key] = time.monotonic() + _check_interval()
                return local
            if stored is not None and int(stored[0]) >= int(version or 0):
                return _keep(_make(env_key, int(stored[0]), stored[1]))
            # Nothing published yet, or a body older than its announced version: rebuild.
            return ruleset_publish(environment_id or _environment_id(env_key))
    # The cache is down: the database knows the version.
    row = Environment.objects.filter(key=env_key).values_list("id", "ruleset_version").first()
    if row is None:
        raise Environment.DoesNotExist(env_key)
    if local is not None and row[1] <= local.version:
        _next_check[env_key] = time.monotonic() + _check_interval()
        return local
    return ruleset_publish(row[0])


def _environment_id(env_key: str) -> int:
    return int(Environment.objects.only("id").get(key=env_key).id)


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
    global _cache_down_until
    with _lock:
        _local.clear()
        _next_check.clear()
        _cache_down_until = 0.0
