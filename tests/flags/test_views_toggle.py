"""Toggling a flag per environment: htmx row swap, roles, production comments."""

from __future__ import annotations

from typing import Any

import pytest

from flags.models import AuditEvent, FlagConfig
from tests.flags.ui_support import HTMX, client_for, setup_flag

pytestmark = pytest.mark.django_db


def url(flag: str = "new-checkout", env: str = "dev") -> str:
    return f"/flags/{flag}/env/{env}/toggle/"


def test_it_toggles_flag_and_returns_the_row(editor_user: Any) -> None:
    flag, dev, _ = setup_flag()
    response = client_for(editor_user).post(url(), {"enabled": "true"}, headers=HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<tr class="flag-row" id="flag-new-checkout"')
    assert 'aria-checked="true"' in html
    assert FlagConfig.objects.get(flag=flag, environment=dev).enabled is True
    assert AuditEvent.objects.filter(action="flag.toggled", actor=editor_user).exists()


def test_it_redirects_without_htmx(editor_user: Any) -> None:
    setup_flag()
    response = client_for(editor_user).post(url(), {"enabled": "true"})
    assert response.status_code == 302 and response["Location"] == "/"


def test_the_flag_page_gets_its_switches_back(editor_user: Any) -> None:
    setup_flag()
    response = client_for(editor_user).post(
        url(), {"enabled": "true", "from": "flag"}, headers=HTMX
    )
    assert 'id="env-switches"' in response.content.decode()


def test_a_viewer_cannot_toggle(viewer_user: Any) -> None:
    flag, dev, _ = setup_flag()
    response = client_for(viewer_user).post(url(), {"enabled": "true"}, headers=HTMX)
    assert response.status_code == 403
    assert FlagConfig.objects.get(flag=flag, environment=dev).enabled is False


def test_an_editor_cannot_toggle_production(editor_user: Any) -> None:
    flag, _, prod = setup_flag()
    response = client_for(editor_user).post(
        url(env="prod"), {"enabled": "true", "comment": "go"}, headers=HTMX
    )
    assert response.status_code == 403
    assert FlagConfig.objects.get(flag=flag, environment=prod).enabled is False


def test_production_needs_a_comment(admin_user: Any) -> None:
    flag, _, prod = setup_flag()
    client = client_for(admin_user)
    response = client.post(url(env="prod"), {"enabled": "true"}, headers=HTMX)
    assert response.status_code == 200 and "need a comment" in response.content.decode()
    assert FlagConfig.objects.get(flag=flag, environment=prod).enabled is False
    # Without htmx the comment is asked for on a page of its own.
    page = client.post(url(env="prod"), {"enabled": "true"})
    assert page.status_code == 400 and 'name="comment"' in page.content.decode()


def test_the_hx_prompt_answer_is_the_comment(admin_user: Any) -> None:
    flag, _, prod = setup_flag()
    response = client_for(admin_user).post(
        url(env="prod"), {"enabled": "true"}, HTTP_HX_PROMPT="launch day", headers=HTMX
    )
    assert response.status_code == 200
    assert FlagConfig.objects.get(flag=flag, environment=prod).enabled is True
    assert AuditEvent.objects.get(action="flag.toggled", environment=prod).comment == "launch day"


def test_it_answers_404_for_unknown_flags_and_405_for_get(admin_user: Any) -> None:
    setup_flag()
    client = client_for(admin_user)
    assert client.post(url(flag="nope"), {"enabled": "true"}).status_code == 404
    assert client.post(url(env="nope"), {"enabled": "true"}).status_code == 404
    assert client.get(url()).status_code == 405
