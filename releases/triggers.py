"""The debounced check after ingestion: `feedback.ingest` calls `rollout_check_soon` once per
stored batch; at most one check per environment is queued per debounce interval, and it runs at
the interval's end, so it sees every event accepted before it.

Cost on the ingest path: nothing when the environment has no active plan (a per-process answer
refreshed every second), else one cache `add` per batch.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from .models import ACTIVE_STATUSES, RolloutPlan

log = logging.getLogger("releases")
_active: dict[int, tuple[float, bool]] = {}
ACTIVE_TTL_SECONDS = 1.0


def environment_has_active_plan(environment_id: int) -> bool:
    now = time.monotonic()
    hit = _active.get(environment_id)
    if hit is not None and hit[0] > now:
        return hit[1]
    found = RolloutPlan.objects.filter(
        environment_id=environment_id, status__in=ACTIVE_STATUSES
    ).exists()
    _active[environment_id] = (now + ACTIVE_TTL_SECONDS, found)
    return found


def rollout_check_soon(environment_id: int) -> bool:
    """Queue a check of the environment's plans at the end of the debounce interval (unless one
    is queued already). Returns True when it queued one."""
    try:
        if not environment_has_active_plan(environment_id):
            return False
        debounce = max(1, int(settings.FLAGSITE_ROLLOUT_CHECK_DEBOUNCE_SECONDS))
        if not cache.add(f"releases:check-soon:{environment_id}", 1, timeout=debounce):
            return False
    except Exception:
        log.exception("rollout check after ingestion not queued")
        return False
    from .tasks import rollouts_check_environment

    transaction.on_commit(
        lambda: rollouts_check_environment.apply_async(args=(environment_id,), countdown=debounce)
    )
    return True
