"""The dashboard lists flags with a switch per environment, search, filters and activity."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from flags.changes import Actor, flag_config_update
from flags.models import AuditEvent, Flag, FlagConfig
from tests.flags.builders import bool_flag
from tests.flags.ui_support import HTMX, client_for, setup_flag

pytestmark = pytest.mark.django_db


def test_it_requires_login(client: Any) -> None:
    response = client.get("/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_it_lists_flags_with_a_switch_per_environment(admin_user: Any) -> None:
    setup_flag()
    html = client_for(admin_user).get("/").content.decode()
    assert "new-checkout" in html
    assert 'id="switch-new-checkout-dev"' in html and 'id="switch-new-checkout-prod"' in html
    assert 'role="switch"' in html and "hx-post" in html


def test_a_viewer_sees_no_switches(viewer_user: Any) -> None:
    setup_flag()
    html = client_for(viewer_user).get("/").content.decode()
    assert "new-checkout" in html
    assert 'role="switch"' not in html and "New flag" not in html


def test_an_editor_gets_no_switch_for_production(editor_user: Any) -> None:
    setup_flag()
    html = client_for(editor_user).get("/").content.decode()
    assert 'id="switch-new-checkout-dev"' in html
    assert 'id="switch-new-checkout-prod"' not in html


def test_it_searches_by_key_name_and_tag(admin_user: Any) -> None:
    setup_flag()
    from flags.changes import flag_update

    flag_update(
        flag=bool_flag("llm-model", tags=["llm"]), actor=Actor(label="t"), name="Chat model"
    )
    client = client_for(admin_user)
    by_name = client.get("/?q=chat").content.decode()
    assert 'id="flag-llm-model"' in by_name and 'id="flag-new-checkout"' not in by_name
    assert 'id="flag-llm-model"' in client.get("/?q=llm").content.decode()
    by_key = client.get("/?q=checkout").content.decode()
    assert 'id="flag-new-checkout"' in by_key and 'id="flag-llm-model"' not in by_key
    by_tag = client.get("/?tag=llm").content.decode()
    assert 'id="flag-llm-model"' in by_tag and 'id="flag-new-checkout"' not in by_tag


def test_it_filters_by_status(admin_user: Any) -> None:
    flag, dev, _ = setup_flag()
    bool_flag("other")
    flag_config_update(flag=flag, environment=dev, actor=Actor(label="t"), enabled=True)
    client = client_for(admin_user)
    on = client.get("/?status=on").content.decode()
    assert "new-checkout" in on and 'id="flag-other"' not in on
    off = client.get("/?status=off").content.decode()
    assert 'id="flag-other"' in off and 'id="flag-new-checkout"' not in off


def test_htmx_search_renders_only_the_table(admin_user: Any) -> None:
    setup_flag()
    response = client_for(admin_user).get("/?q=new", headers=HTMX)
    html = response.content.decode()
    assert 'id="flag-table"' in html and "<html" not in html


def test_it_marks_a_flag_stale_after_30_quiet_days_serving_one_variant(admin_user: Any) -> None:
    flag, _, _ = setup_flag()  # off everywhere: serves "off" in every environment
    fresh = client_for(admin_user).get("/").content.decode()
    assert "badge-stale" not in fresh
    old = timezone.now() - timedelta(days=31)
    Flag.objects.filter(pk=flag.pk).update(updated_at=old)
    FlagConfig.objects.filter(flag=flag).update(updated_at=old)
    html = client_for(admin_user).get("/").content.decode()
    assert "badge-stale" in html
    assert "new-checkout" in client_for(admin_user).get("/?status=stale").content.decode()


def test_a_flag_serving_two_variants_is_not_stale(admin_user: Any) -> None:
    flag, dev, _ = setup_flag()
    flag_config_update(
        flag=flag,
        environment=dev,
        actor=Actor(label="t"),
        enabled=True,
        default={"variant": "on"},
    )
    old = timezone.now() - timedelta(days=31)
    Flag.objects.filter(pk=flag.pk).update(updated_at=old)
    FlagConfig.objects.filter(flag=flag).update(updated_at=old)
    assert "badge-stale" not in client_for(admin_user).get("/").content.decode()


def test_it_shows_a_rollback_in_recent_changes_not_as_an_alert(admin_user: Any) -> None:
    from flags.changes import version_restore
    from flags.models import Version

    flag, dev, _ = setup_flag()
    flag_config_update(flag=flag, environment=dev, actor=Actor(label="t"), enabled=True)
    v1 = Version.objects.get(flag=flag, environment=dev, number=1)
    version_restore(version=v1, actor=Actor(label="t"), comment="error rate up")
    html = client_for(admin_user).get("/").content.decode()
    recent = html.split('id="recent-title"')[1].split("</section>")[0]
    rollback = AuditEvent.objects.get(action="flag.rolled_back")
    assert f'href="{reverse("audit_detail", args=[rollback.id])}"' in recent
    alerts = html.split('id="alerts-title"')[1].split("</section>")[0]
    assert "No open alerts" in alerts


def _alerts_box(html: str) -> str:
    return html.split('id="alerts-title"')[1].split("</section>")[0]


def test_it_lists_the_newest_open_alerts_with_severity_and_links(admin_user: Any) -> None:
    from alerts.api import raise_alert
    from alerts.models import Alert

    # Given seven open alerts, one acknowledged and one resolved
    raised = [
        raise_alert(
            source="budget",
            dedupe_key=f"budget:{i}",
            severity="critical" if i == 6 else "warning",
            title=f"Budget number {i} at 80 %",
            link="/costs/budgets/" if i == 6 else "",
        )
        for i in range(7)
    ]
    acked = raise_alert(source="anomaly", dedupe_key="a", severity="info", title="Acked spike")
    done = raise_alert(source="rollout", dedupe_key="r", severity="info", title="Old rollback")
    Alert.objects.filter(pk=acked.pk).update(status="acknowledged")
    Alert.objects.filter(pk=done.pk).update(status="resolved")
    Alert.objects.filter(pk=raised[0].pk).update(created_at=timezone.now() - timedelta(days=2))

    box = _alerts_box(client_for(admin_user).get("/").content.decode())

    # Then the five newest open ones show, newest first, each with its severity and links
    shown = re.findall(r'data-alert="(\d+)"', box)
    assert shown == [str(a.pk) for a in reversed(raised[2:])]
    newest = raised[6]
    assert f'href="/alerts/{newest.pk}/"' in box and "Budget number 6 at 80 %" in box
    assert 'class="badge sev sev-critical">Critical<' in box
    assert 'href="/costs/budgets/">What fired<' in box
    assert "Acked spike" not in box and "Old rollback" not in box
    assert 'href="/alerts/"' in box
