"""`manage.py demo_data` creates a superuser with a published password and well-known keys: it
refuses to run with DEBUG off unless told this is not production."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db


def test_it_refuses_with_debug_off_and_says_what_to_do(settings: Any) -> None:
    settings.DEBUG = False
    with pytest.raises(CommandError) as exc:
        call_command("demo_data", stdout=StringIO())
    message = str(exc.value)
    assert "DEBUG=true" in message and "--i-know-this-is-not-production" in message
    assert not get_user_model().objects.filter(username="admin").exists()


def test_it_runs_with_debug_off_when_told_it_is_not_production(settings: Any) -> None:
    settings.DEBUG = False
    out = StringIO()
    call_command("demo_data", "--i-know-this-is-not-production", stdout=out)
    assert "Demo data ready." in out.getvalue()
    assert get_user_model().objects.get(username="admin").is_superuser


def test_it_runs_with_debug_on(settings: Any) -> None:
    settings.DEBUG = True
    out = StringIO()
    call_command("demo_data", stdout=out)
    assert "Demo data ready." in out.getvalue()
