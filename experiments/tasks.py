"""Celery tasks for experiments: thin, they load ids and call the functions that do the work."""

from __future__ import annotations

from celery import shared_task

from .compute import experiment_compute_results, running_experiments_compute


@shared_task(acks_late=True, reject_on_worker_lost=True)
def compute_running_experiments() -> int:
    """Beat, every FLAGSITE_EXPERIMENT_COMPUTE_SECONDS."""
    return running_experiments_compute()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def compute_experiment(experiment_id: int, refresh: bool = True) -> int | None:
    """The "refresh now" button."""
    result = experiment_compute_results(experiment_id=experiment_id, refresh=refresh)
    return result.pk if result is not None else None
