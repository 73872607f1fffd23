"""Publishing: the database's version is the authority, one publish per environment per
transaction, a failed cache write is reported and retried, new versions compile off the request
path. (Real processes: test_publish_processes.py.)"""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from django.db import transaction
from flagsite_sdk.engine import compile_ruleset

from flags import publish, publish_commit
from flags.changes import (
    Actor,
    changes_batch,
    environment_create,
    flag_config_update,
    flag_toggle,
    segment_update,
)
from flags.models import AuditEvent, Environment, Flag, Segment
from flags.publish import ruleset_current
from flags.ruleset import ruleset_build
from flags.validation import ConfigError
from tests.flags.builders import bool_flag, environments, segment
from tests.flags.test_api_support import _fresh_key_cache  # noqa: F401
from tests.flags.ui_support import HTMX, client_for

ACTOR = Actor(label="test")


@pytest.fixture
def builds(monkeypatch: Any) -> list[str]:
    """The environments whose ruleset was built, in order."""
    seen: list[str] = []
    original = ruleset_build

    def counting(env: Environment) -> Any:
        seen.append(env.key)
        return original(env)

    monkeypatch.setattr(publish, "ruleset_build", counting)
    return seen


@pytest.fixture
def dead_cache(settings: Any, monkeypatch: Any) -> None:
    """This process's cache is a Redis that refuses connections; no retry thread."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "KEY_PREFIX": f"flagsite-test-{uuid.uuid4().hex}",
            "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25},
        }
    }
    monkeypatch.setattr(publish_commit, "RETRY_DELAYS", ())


def _expire_checks() -> None:
    """As if the check interval had passed."""
    publish._next_check.clear()
    publish._db_versions_until = 0.0


@pytest.mark.django_db
def test_a_transaction_publishes_each_environment_once(
    builds: list[str], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        dev, prod = environments()
        flags = [bool_flag(f"flag-{i}") for i in range(4)]
    builds.clear()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        for flag in flags:
            flag_toggle(flag=flag, environment=dev, enabled=True, actor=ACTOR)
        flag_toggle(flag=flags[0], environment=prod, enabled=True, actor=ACTOR, comment="go")
        segment("beta", included=["u1"])  # touches every environment
    assert sorted(builds) == ["dev", "prod"]


@pytest.mark.django_db
def test_a_rolled_back_savepoint_does_not_lose_the_publish(
    builds: list[str], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        dev, _ = environments()
        flag = bool_flag()
    builds.clear()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        flag_toggle(flag=flag, environment=dev, enabled=True, actor=ACTOR)
        with pytest.raises(ConfigError):
            flag_config_update(flag=flag, environment=dev, actor=ACTOR, off_variant="nope")
    assert builds == ["dev"]
    assert ruleset_current("dev").data["flags"][flag.key]["enabled"] is True


@pytest.mark.django_db
def test_bulk_changes_publish_once_and_do_not_query_per_flag(
    builds: list[str],
    django_capture_on_commit_callbacks: Any,
    django_assert_max_num_queries: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        environments()
        for i in range(30):
            bool_flag(f"flag-{i}")
        segment("everyone-in-it", included=["u1"])
    builds.clear()
    # A new environment: a configuration and a version for each of the 30 flags.
    with django_capture_on_commit_callbacks(execute=True), django_assert_max_num_queries(20):
        environment_create(key="qa", name="QA", actor=ACTOR)
    assert builds == ["qa"]
    builds.clear()
    # A segment used by every environment: each environment published once.
    with django_capture_on_commit_callbacks(execute=True):
        segment_update(
            segment=Segment.objects.get(key="everyone-in-it"), actor=ACTOR, included=["u2"]
        )
    assert sorted(builds) == ["dev", "prod", "qa"]
    # Many configuration changes in one batch: validation reads the flags once, not per change.
    flags = list(Flag.objects.order_by("key"))
    qa = Environment.objects.get(key="qa")
    with django_assert_max_num_queries(8 * len(flags) + 10), changes_batch():
        for flag in flags:
            flag_toggle(flag=flag, environment=qa, enabled=True, actor=ACTOR)


@pytest.mark.django_db
def test_a_process_with_an_old_copy_serves_the_database_version_whatever_the_cache_holds(
    django_capture_on_commit_callbacks: Any, monkeypatch: Any
) -> None:
    # Given: this process and the cache hold version N.
    dev, _ = environments()
    flag = bool_flag()
    old = ruleset_current("dev")
    # When: another process commits a change but its cache write fails (the cache keeps N).
    monkeypatch.setattr(publish, "cache_store", lambda published: False)
    with django_capture_on_commit_callbacks(execute=True):
        flag_toggle(flag=flag, environment=dev, enabled=True, actor=ACTOR)
    monkeypatch.undo()
    publish._local["dev"] = old  # this process never saw the publish
    assert publish.cache_version("dev") == old.version
    # Then: within the check interval, the database's version wins.
    _expire_checks()
    current = ruleset_current("dev")
    assert current.version > old.version
    assert current.data["flags"][flag.key]["enabled"] is True
    # and the cache was healed on the way.
    assert publish.cache_version("dev") == current.version


@pytest.mark.django_db(transaction=True)
def test_a_failed_cache_write_is_reported_in_the_api_answer_and_the_audit_log(
    client: Any, demo: Any, dead_cache: None
) -> None:
    from flags.api.tokens import personal_token_create
    from flags.models import UserProfile

    profile = UserProfile.objects.filter(role="admin").first()
    assert profile is not None
    user = profile.user
    token = personal_token_create(user=user, name="t")[1]
    response = client.post(
        "/api/v1/flags/llm-model/environments/development/toggle",
        {"enabled": False},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token}",
    )
    assert response.status_code == 200
    data = response.json()
    assert data["enabled"] is False  # saved
    assert data["publish"] == {
        "status": "pending",
        "message": "saved, not yet published to every server — retrying",
        "environments": ["development"],
    }
    assert "pending" in response["Flagsite-Publish"]
    event = AuditEvent.objects.get(action="ruleset.publish_failed")
    dev = Environment.objects.get(key="development")
    assert event.environment == dev
    assert "saved, not yet published to every server — retrying" in event.summary
    assert event.diff == [{"path": "ruleset_version", "before": None, "after": dev.ruleset_version}]


@pytest.mark.django_db(transaction=True)
def test_a_failed_cache_write_is_said_on_the_page(editor_user: Any, dead_cache: None) -> None:
    environments()
    bool_flag()
    client = client_for(editor_user)
    fragment = client.post("/flags/new-checkout/env/dev/toggle/", {"enabled": "true"}, headers=HTMX)
    assert fragment.status_code == 200
    html = fragment.content.decode()
    assert 'hx-swap-oob="beforeend"' in html
    assert "saved, not yet published to every server — retrying" in html
    # Without htmx: the redirect's page carries the warning.
    page = client.post("/flags/new-checkout/env/dev/toggle/", {"enabled": "false"}, follow=True)
    assert "saved, not yet published to every server — retrying" in page.content.decode()


@pytest.mark.django_db(transaction=True)
def test_the_publisher_retries_until_the_cache_holds_the_version(monkeypatch: Any) -> None:
    dev, _ = environments()
    flag = bool_flag()
    monkeypatch.setattr(publish, "cache_store", lambda published: False)
    monkeypatch.setattr(publish_commit, "RETRY_DELAYS", ())
    flag_toggle(flag=flag, environment=dev, enabled=True, actor=ACTOR)  # commits, cache refuses
    monkeypatch.undo()
    version = Environment.objects.get(pk=dev.pk).ruleset_version
    assert (publish.cache_version("dev") or 0) < version
    assert AuditEvent.objects.filter(action="ruleset.publish_failed").count() == 1
    # The retry (run here, without its sleeps) puts the version in the cache and says so.
    monkeypatch.setattr(publish_commit, "RETRY_DELAYS", (0.0,))
    publish_commit._retry([(dev.id, "dev", version, "cache unreachable")])
    assert publish.cache_version("dev") == version
    assert AuditEvent.objects.get(action="ruleset.published").environment_id == dev.id


@pytest.mark.django_db(transaction=True)
def test_a_new_version_compiles_off_the_request_path(monkeypatch: Any) -> None:
    dev, _ = environments()
    bool_flag("other")
    flag = bool_flag()
    old = ruleset_current("dev")
    flag_toggle(flag=flag, environment=dev, enabled=True, actor=ACTOR)  # commits
    publish._local["dev"] = old  # as in a process that has not loaded it yet
    _expire_checks()
    monkeypatch.setattr(publish, "BACKGROUND_LOAD", True)
    release = threading.Event()
    original = compile_ruleset

    def slow_compile(data: Any, previous: Any = None) -> Any:
        release.wait(timeout=10)
        return original(data, previous=previous)

    monkeypatch.setattr(publish, "compile_ruleset", slow_compile)
    # The request that notices the new version, and the ones after it, get the old copy at once.
    assert ruleset_current("dev") is old
    assert ruleset_current("dev") is old
    assert publish.ruleset_loading()
    release.set()
    for thread in threading.enumerate():
        if thread.name == "ruleset-load-dev":
            thread.join(timeout=10)
    current = ruleset_current("dev")
    assert current.version > old.version
    assert current.data["flags"][flag.key]["enabled"] is True
    # Only the changed flag was compiled again.
    untouched = [k for k in old.compiled.functions if k != flag.key]
    assert all(current.compiled.functions[k] is old.compiled.functions[k] for k in untouched)
