"""The audit log: filter by who, what and when; entries link to the object and the diff."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from flags.changes import Actor, flag_config_update
from flags.models import AuditEvent
from tests.flags.ui_support import HTMX, client_for, setup_flag

pytestmark = pytest.mark.django_db


def test_it_filters_by_who_what_and_when(viewer_user: Any, editor_user: Any) -> None:
    flag, dev, _ = setup_flag()
    flag_config_update(flag=flag, environment=dev, actor=Actor(user=editor_user), enabled=True)
    client = client_for(viewer_user)
    by_eddie = client.get("/audit/?who=eddie").content.decode()
    assert "flag.config_updated" in by_eddie and "flag.created" not in by_eddie
    assert "flag.created" in client.get("/audit/?what=created").content.decode()
    assert "flag.config_updated" in client.get("/audit/?environment=dev").content.decode()
    tomorrow = (date.today() + timedelta(days=2)).isoformat()
    assert "No entries" in client.get(f"/audit/?since={tomorrow}").content.decode()
    assert "Check the dates" in client.get("/audit/?since=not-a-date").content.decode()


def test_htmx_filtering_renders_only_the_results(viewer_user: Any) -> None:
    setup_flag()
    html = client_for(viewer_user).get("/audit/?what=flag", headers=HTMX).content.decode()
    assert 'id="audit-results"' in html and "<html" not in html


def test_each_entry_links_to_its_object_and_diff(viewer_user: Any) -> None:
    flag, dev, _ = setup_flag()
    flag_config_update(flag=flag, environment=dev, actor=Actor(label="t"), enabled=True)
    event = AuditEvent.objects.get(action="flag.config_updated")
    client = client_for(viewer_user)
    listing = client.get("/audit/").content.decode()
    assert f"/audit/{event.id}/" in listing and "/flags/new-checkout/?env=dev" in listing
    detail = client.get(f"/audit/{event.id}/").content.decode()
    assert "<code>enabled</code>" in detail and "/flags/new-checkout/history/" in detail
    assert client.get("/audit/999999/").status_code == 404
