"""An Unleash import's life: plan it, apply it once, run it (inline or in the worker).

`import_job_create` stores the document and its plan; `import_job_apply` checks the policy,
re-plans and moves the job out of `planned` exactly once; `import_job_run` does the writes
through `flags.changes` (one transaction, one `import.applied` audit entry) and is idempotent,
so the Celery task can be delivered twice (acks_late) without importing twice.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import F
from django.utils import timezone

from flags import policy
from flags.changes import Actor, audit_record
from flags.models import Environment
from flags.unleash_import import COMMENT, unleash_import
from flags.validation import ConfigError
from flagsite.storable import text_unstorable

from .models import ImportJob
from .plan import CHANGE, CREATE, import_plan, plan_digest

log = logging.getLogger(__name__)

ALREADY, REPLANNED, QUEUED, DONE = "already", "replanned", "queued", "done"
STALE = (
    "The flags or segments changed after this plan was approved, so nothing was imported. "
    "Make a new plan from the same document and review it."
)


def import_job_create(
    *,
    data: dict[str, Any],
    environment: Environment,
    user: Any,
    source_name: str = "",
    source_bytes: int = 0,
) -> ImportJob:
    plan = import_plan(data=data, environment=environment)
    return ImportJob.objects.create(
        environment=environment,
        created_by=user,
        document=data,
        plan=plan,
        plan_digest=plan_digest(plan),
        total=plan["steps"],
        source_name=source_name[:200],
        source_bytes=source_bytes,
    )


def import_what(job: ImportJob) -> str:
    return f"import {job.plan['counts']['flags']} flags from Unleash into {job.environment.key}"


def import_job_apply(*, job: ImportJob, user: Any, comment: str) -> str:
    """Apply a planned job once. Returns ALREADY (it was applied before: nothing done),
    REPLANNED (the data changed since the plan: the job now holds the new plan to review),
    QUEUED (handed to the worker) or DONE (run inline; see the job's status)."""
    if job.status != ImportJob.Status.PLANNED:
        return ALREADY
    production = bool(job.plan.get("reaches_production"))
    policy.require_change(user, production=production, what=import_what(job))
    problem = text_unstorable(comment)
    if problem:  # a NUL or a lone surrogate: PostgreSQL cannot store it (a 500 otherwise)
        raise ConfigError([("comment", f"The comment {problem}.")])
    if job.plan.get("blocking"):
        raise ConfigError([("plan", message) for message in job.plan["blocking"]])
    policy.require_comment(comment, production=production, what=import_what(job))
    fresh = import_plan(data=job.document, environment=job.environment)
    digest = plan_digest(fresh)
    if digest != job.plan_digest:
        ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.PLANNED).update(
            plan=fresh, plan_digest=digest, total=fresh["steps"]
        )
        return REPLANNED
    in_worker = fresh["counts"]["flags"] > settings.FLAGSITE_IMPORT_INLINE_MAX_FLAGS
    claimed = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.PLANNED).update(
        status=ImportJob.Status.QUEUED, applied_by=user, comment=comment, in_worker=in_worker
    )
    if not claimed:  # a second click or a reload raced this one and won
        return ALREADY
    if in_worker:
        transaction.on_commit(lambda: _enqueue(job.pk))
        return QUEUED
    import_job_run(job_id=job.pk)
    return DONE


def _enqueue(job_id: int) -> None:
    from .tasks import import_job_run_task

    try:
        import_job_run_task.delay(job_id)
    except Exception:  # the broker is unreachable: say so rather than wait for ever
        log.exception("could not queue Unleash import %s", job_id)
        ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.QUEUED).update(
            status=ImportJob.Status.FAILED,
            finished_at=timezone.now(),
            errors=[
                [
                    "",
                    "The worker's queue (the Celery broker) could not be reached, so "
                    "nothing was imported. Make a new plan and try again.",
                ]
            ],
        )


def import_job_run(*, job_id: int) -> None:
    """Run a queued job. Idempotent: a finished job is left alone, and a job found `running`
    (a worker died mid-way; its transaction rolled back) runs again from the start."""
    claimed = ImportJob.objects.filter(
        pk=job_id, status__in=[ImportJob.Status.QUEUED, ImportJob.Status.RUNNING]
    ).update(status=ImportJob.Status.RUNNING, attempts=F("attempts") + 1, started_at=timezone.now())
    if not claimed:
        return
    job = ImportJob.objects.select_related("environment", "applied_by").get(pk=job_id)
    if plan_digest(import_plan(data=job.document, environment=job.environment)) != job.plan_digest:
        _finish(job, ImportJob.Status.FAILED, errors=[["plan", STALE]])
        return
    progress = _ProgressWriter(job) if job.in_worker else None
    try:
        with transaction.atomic():
            event = _write(job, progress)
            _finish(job, ImportJob.Status.SUCCEEDED, result=_result(job.plan), audit_event=event)
    except (ConfigError, PermissionDenied) as exc:
        errors = exc.errors if isinstance(exc, ConfigError) else [("", str(exc))]
        _finish(job, ImportJob.Status.FAILED, errors=[list(e) for e in errors])
    except Exception as exc:  # reported on the page; the traceback goes to the log
        log.exception("Unleash import %s failed", job_id)
        _finish(job, ImportJob.Status.FAILED, errors=[["", f"{type(exc).__name__}: {exc}"]])
    finally:
        if progress is not None:
            progress.close()


def _write(job: ImportJob, progress: Any) -> Any:
    user = job.applied_by
    actor = Actor(user=user) if user is not None else Actor(label="unleash import")
    note = f"{job.comment or COMMENT} (Unleash import #{job.pk})"
    unleash_import(
        data=job.document,
        environment=job.environment,
        actor=actor,
        comment=note,
        progress=progress,
    )
    result = _result(job.plan)
    counts = job.plan["counts"]
    return audit_record(
        actor=actor,
        action="import.applied",
        object_type="import",
        object_key=str(job.token),
        environment=job.environment,
        summary=(
            f"imported {counts['flags']} flags from Unleash into {job.environment.key}: "
            f"{counts[CREATE]} created, {counts[CHANGE]} changed, {counts['unchanged']} "
            f"unchanged; {counts['segments']} segments; {counts['warnings']} warnings"
        ),
        comment=job.comment,
        diff=[
            {"path": f"{what}.{action}", "before": None, "after": keys}
            for what in ("flags", "segments")
            for action, keys in result[what].items()
            if keys
        ],
    )


def _result(plan: dict[str, Any]) -> dict[str, Any]:
    def keys(rows: list[dict[str, Any]], action: str) -> list[str]:
        return [row["key"] for row in rows if row["action"] == action]

    return {
        what: {action: keys(plan[what], action) for action in (CREATE, CHANGE)}
        for what in ("flags", "segments")
    }


def _finish(job: ImportJob, status: str, **fields: Any) -> None:
    now = timezone.now()
    done = {"done": F("total")} if status == ImportJob.Status.SUCCEEDED else {}
    ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.RUNNING).update(
        status=status, finished_at=now, **done, **fields
    )


class _ProgressWriter:
    """Writes `done` through a connection of its own, so the page sees progress while the
    import's transaction is still open. PostgreSQL only: SQLite has one writer at a time (the
    import holds it), so there the numbers move when the import ends (docs/operations.md)."""

    def __init__(self, job: ImportJob) -> None:
        self.job_id = job.pk
        self.every = max(1, job.total // 100)
        self.last = 0
        self.db = (
            connections.create_connection(DEFAULT_DB_ALIAS)
            if connection.vendor == "postgresql"
            else None
        )
        self.table = ImportJob._meta.db_table

    def __call__(self, done: int, total: int) -> None:
        if self.db is None or done - self.last < self.every:
            return
        self.last = done
        try:
            with self.db.cursor() as cursor:
                cursor.execute("SET lock_timeout = '2s'")
                cursor.execute(
                    f"UPDATE {self.table} SET done = %s WHERE id = %s AND status = %s",
                    [done, self.job_id, ImportJob.Status.RUNNING],
                )
        except Exception:  # progress is a courtesy: never fail the import over it
            log.warning("could not record the progress of import %s", self.job_id, exc_info=True)

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
