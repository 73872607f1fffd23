"""Celery tasks for flags: thin wrappers that load ids and call the functions that do the work."""

from __future__ import annotations

from celery import shared_task

from .models import Environment
from .publish import ruleset_publish


@shared_task
def republish_all_rulesets() -> int:
    count = 0
    for env_id in Environment.objects.values_list("id", flat=True):
        ruleset_publish(env_id)
        count += 1
    return count
