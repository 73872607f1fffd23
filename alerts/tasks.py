"""Celery tasks for alerts: thin wrappers that call the outbox functions."""

from __future__ import annotations

from celery import shared_task

from .digest import digest_attempt, digests_dispatch_due
from .outbox import delivery_attempt, outbox_dispatch_due


@shared_task(acks_late=True, reject_on_worker_lost=True)
def delivery_send(delivery_id: int) -> str:
    return delivery_attempt(delivery_id=delivery_id)


@shared_task
def outbox_dispatch() -> int:
    return outbox_dispatch_due() + digests_dispatch_due()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def digest_send(digest_id: int) -> str:
    return digest_attempt(digest_id=digest_id)
