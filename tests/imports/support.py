"""Unleash documents for the import tests, and posting them through the import form."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client

USER_IDS = "userWithId"


def feature(name: str, *, user_ids: str = "", enabled: bool = True, **extra: Any) -> dict:
    """An Unleash feature: on for the listed user ids (userWithId), else for everyone."""
    strategies = (
        [{"name": USER_IDS, "parameters": {"userIds": user_ids}}]
        if user_ids
        else [{"name": "default", "parameters": {}}]
    )
    return {"name": name, "enabled": enabled, "strategies": strategies} | extra


def document(*features: dict, segments: list | None = None) -> dict:
    return {"version": 2, "features": list(features), "segments": segments or []}


def unsupported(name: str) -> dict:
    """A feature whose only strategy is a custom one flagsite cannot carry over (a warning)."""
    return {"name": name, "enabled": True, "strategies": [{"name": "myCustom", "parameters": {}}]}


def post_document(client: Client, data: Any, environment: str = "dev", **extra: Any) -> Any:
    text = data if isinstance(data, str) else json.dumps(data)
    return client.post("/imports/unleash/", {"environment": environment, "document": text, **extra})


def send_to_test_broker(monkeypatch: Any) -> None:
    """Import jobs are queued on the Redis broker the test worker (tests/celery_worker.py)
    listens on, whatever broker the settings name (as flags' worker test sends its task)."""
    from flagsite.celery import app
    from imports.tasks import import_job_run_task
    from tests.services import redis_url

    def send(job_id: int) -> None:
        with app.connection_for_write(url=redis_url()) as conn:
            # What Celery does with `connection=conn`, which apply_async's types lack
            producer = app.amqp.Producer(conn, auto_declare=False)
            import_job_run_task.apply_async(args=(job_id,), producer=producer)

    monkeypatch.setattr(import_job_run_task, "delay", send)


def token_headers(user: Any) -> dict[str, str]:
    """A personal token for `user`, as the management API wants it (what CI scripts send)."""
    from flags.api.tokens import personal_token_create

    _, raw = personal_token_create(user=user, name="ci")
    return {"Authorization": f"Token {raw}"}


def post_api(client: Client, url: str, body: Any, headers: dict[str, str]) -> Any:
    """POST `body` (JSON-encoded unless already text or bytes) to the management API."""
    text = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(url, text, content_type="application/json", headers=headers)
