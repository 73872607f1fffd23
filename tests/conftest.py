from __future__ import annotations

import contextlib
from typing import Any

import pytest
from django.contrib.auth import get_user_model


def _make_user(username: str, role: str, **extra: Any) -> Any:
    from flags.models import UserProfile

    User = get_user_model()
    user = User.objects.create_user(username, f"{username}@example.com", "pw-" + username, **extra)
    UserProfile.objects.create(user=user, role=role)
    return user


@pytest.fixture
def admin_user(db: Any) -> Any:
    """Alice, the admin: everything, production included."""
    return _make_user("alice", "admin")


@pytest.fixture
def editor_user(db: Any) -> Any:
    """Eddie, an editor: flags and segments outside production."""
    return _make_user("eddie", "editor")


@pytest.fixture
def viewer_user(db: Any) -> Any:
    """Vera, a viewer: reads, never writes."""
    return _make_user("vera", "viewer")


@pytest.fixture
def actor(admin_user: Any) -> Any:
    from flags.changes import Actor

    return Actor(user=admin_user)


@pytest.fixture
def demo(db: Any) -> dict[str, str]:
    from flags.demo import demo_data_load

    return demo_data_load()


@pytest.fixture(autouse=True)
def _fresh_ruleset_copies() -> Any:
    """Each test starts with no in-process ruleset copies, rate-limit counts or cached entries.

    The engine's tests also run without Django (`-p no:django`); then there is nothing to reset.
    """
    from django.conf import settings

    if not settings.configured:
        yield
        return
    from django.core.cache import cache

    from delivery.exposures import exposures_flusher_stop, exposures_reset
    from delivery.ratelimit import rate_limit_reset
    from flags import publish
    from flags.publish import ruleset_forget_local

    # Test data lives in the test's transaction, which a background loader thread (another
    # connection) cannot see: load new versions on the request thread, except where a test
    # turns it on to test it (with committed data).
    publish.BACKGROUND_LOAD = False
    # Tests flush the exposure recorder themselves: no background thread writing into a test's
    # database from another connection.
    settings.FLAGSITE_EXPOSURE_FLUSH_SECONDS = 0
    exposures_flusher_stop()
    exposures_reset()
    ruleset_forget_local()
    rate_limit_reset()
    with contextlib.suppress(Exception):  # a dead cache is some tests' subject
        cache.clear()
    yield
    ruleset_forget_local()
    # Counts a test left pending belong to its rolled-back data: the recorder's flush at exit
    # would fail on them (their environment is gone).
    exposures_reset()


from tests.browser import browser, page  # noqa: E402, F401  (shared fixtures)
