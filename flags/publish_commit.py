"""After a commit: publish each touched environment once, and report a publish that failed.

A transaction may change many things (an import, a new environment, a segment used everywhere);
`publish_after_commit` collects the environments it touched and publishes each of them once, after
the commit. When the shared cache refuses the new ruleset, the change is still safe (every
process compares its copy with the database's version within the check interval and rebuilds
from the database), but the person who made it is told "saved, not yet published to every
server — retrying" (the API answer and the page, see `publish_report`), the audit log records
it, and a background thread retries the cache write until the cache holds the version.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import connections, transaction

from .models import AuditEvent, Environment

log = logging.getLogger(__name__)

PENDING_MESSAGE = "saved, not yet published to every server — retrying"
# The publisher's retries of a failed cache write (seconds between attempts). After the last,
# beat's republish_all_rulesets keeps trying; readers never depended on it.
RETRY_DELAYS = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0)

_state = threading.local()


@dataclass
class PublishReport:
    """What the publishes during one request (or block) did: environments not yet in the
    shared cache (the change is saved; every process will still serve it)."""

    pending: list[str] = field(default_factory=list)

    @property
    def message(self) -> str:
        return PENDING_MESSAGE if self.pending else ""


@contextmanager
def publish_report() -> Iterator[PublishReport]:
    """Collect the outcome of every publish this thread runs inside the block."""
    report = PublishReport()
    reports = _reports()
    reports.append(report)
    try:
        yield report
    finally:
        reports.remove(report)


def publish_pending() -> list[str]:
    """Environments the current request's publishes could not put in the shared cache."""
    reports = _reports()
    return list(reports[-1].pending) if reports else []


def _reports() -> list[PublishReport]:
    if not hasattr(_state, "reports"):
        _state.reports = []
    return _state.reports


class _Pending:
    """The environments one transaction touched; registered as its on-commit callback."""

    def __init__(self) -> None:
        self.ids: set[int] = set()
        self.done = False
        self.seen: object = None  # the connection's callback list when last checked

    def __call__(self) -> None:
        if not self.done:
            self.done = True
            _publish(sorted(self.ids))


def publish_after_commit(environment_id: int) -> None:
    """Publish this environment once the current transaction commits, together with every other
    environment the transaction touched: one publish per environment per transaction."""
    connection = transaction.get_connection()
    pending: _Pending | None = getattr(_state, "pending", None)
    if pending is not None and not pending.done and connection.run_on_commit is not pending.seen:
        # A new transaction, or a savepoint rolled back (Django then drops the callbacks
        # registered inside it): is ours still registered? (Rare, so the scan is cheap.)
        if any(entry[1] is pending for entry in connection.run_on_commit):
            pending.seen = connection.run_on_commit
        else:
            pending = None
    if pending is None or pending.done:
        pending = _state.pending = _Pending()
    pending.ids.add(environment_id)
    # Registered on every call (the first to run publishes the set, the others return at
    # once), so a callback survives whatever savepoint the later changes roll back.
    transaction.on_commit(pending)
    pending.seen = connection.run_on_commit


def _publish(ids: list[int]) -> None:
    from .publish import ruleset_publish_checked

    failed: list[tuple[int, str, int, str]] = []
    for env_id in ids:
        try:
            published, stored = ruleset_publish_checked(env_id)
        except Environment.DoesNotExist:
            continue
        except Exception as exc:  # committed already: the readers build it themselves
            log.warning("could not publish environment %s", env_id, exc_info=True)
            key, version = _describe(env_id)
            failed.append((env_id, key, version, f"{type(exc).__name__}: {exc}"))
            continue
        if not stored:
            failed.append((env_id, published.environment, published.version, "cache unreachable"))
    if failed:
        _report_failures(failed)


def _describe(env_id: int) -> tuple[str, int]:
    try:
        row = Environment.objects.filter(pk=env_id).values_list("key", "ruleset_version").first()
    except Exception:
        row = None
    return row or (str(env_id), 0)


def _report_failures(failed: list[tuple[int, str, int, str]]) -> None:
    for report in _reports():
        report.pending.extend(key for _, key, _, _ in failed)
    for env_id, key, version, reason in failed:
        _audit(
            env_id,
            key,
            action="ruleset.publish_failed",
            summary=f"{key}: {PENDING_MESSAGE} (version {version})",
            comment=reason,
            version=version,
        )
    threading.Thread(
        target=_retry, args=(failed,), name="ruleset-publish-retry", daemon=True
    ).start()


def _audit(env_id: int, key: str, *, action: str, summary: str, comment: str, version: int) -> None:
    try:
        AuditEvent.objects.create(
            actor_label="system: publisher",
            action=action,
            object_type="environment",
            object_key=key,
            environment_id=env_id,
            summary=summary[:500],
            comment=comment,
            # What every server is meant to serve: the committed ruleset version.
            diff=[{"path": "ruleset_version", "before": None, "after": version}],
        )
    except Exception:  # the database may be the thing that failed
        log.warning("could not record %s for %s", action, key, exc_info=True)


def _retry(failed: list[tuple[int, str, int, str]]) -> None:
    """Retry the cache write until the cache holds each environment's version (or a newer one).
    Readers do not wait for this: they compare with the database; this spares them rebuilds."""
    from .publish import cache_version, ruleset_publish_checked

    waiting = {env_id: (key, version) for env_id, key, version, _ in failed}
    attempts = 0
    try:
        for delay in RETRY_DELAYS:
            time.sleep(delay)
            attempts += 1
            for env_id, (key, version) in list(waiting.items()):
                try:
                    held = cache_version(key)
                    if held is None or held < version:
                        _, stored = ruleset_publish_checked(env_id)
                        if not stored:
                            continue
                except Exception:
                    log.warning("retrying the %s ruleset failed", key, exc_info=True)
                    continue
                del waiting[env_id]
                _audit(
                    env_id,
                    key,
                    action="ruleset.published",
                    summary=f"{key}: published to every server after {attempts} retries",
                    comment="",
                    version=version,
                )
            if not waiting:
                return
        log.error(
            "gave up retrying the rulesets of %s; beat's republish keeps trying",
            ", ".join(k for k, _ in waiting.values()),
        )
    finally:
        connections.close_all()
