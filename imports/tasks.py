"""Celery tasks for imports: thin wrappers that load ids and call the functions that do the work."""

from __future__ import annotations

from celery import shared_task

from .jobs import import_job_run


# acks_late (also the project default): a worker that dies mid-import leaves the message to be
# delivered again, and import_job_run is idempotent (a finished job is left alone).
@shared_task(acks_late=True)
def import_job_run_task(job_id: int) -> None:
    import_job_run(job_id=job_id)
