"""The rule editor: structural edits keep a draft, saves go through flag_config_update, and
every problem lands on its field."""

from __future__ import annotations

from typing import Any

import pytest

from flags.changes import Actor, flag_config_update
from flags.models import FlagConfig
from tests.flags.builders import rule, segment
from tests.flags.ui_support import HTMX, client_for, setup_flag

pytestmark = pytest.mark.django_db


def save_url(env: str = "dev") -> str:
    return f"/flags/new-checkout/env/{env}/targeting/save/"


def form(**extra: Any) -> dict[str, Any]:
    """The editor's fields for one rule (plan in pro -> on) and a default of off."""
    data = {
        "rule_count": "1",
        "prereq_count": "0",
        "r0-id": "pro",
        "r0-name": "Pro plan",
        "r0-clause_count": "1",
        "r0-c0-attribute": "plan",
        "r0-c0-op": "in",
        "r0-c0-values": "pro, team",
        "r0-mode": "variant",
        "r0-variant": "on",
        "default-mode": "variant",
        "default-variant": "off",
        "off_variant": "off",
        "op": "save",
    }
    data.update(extra)
    return data


def test_it_saves_a_rule_from_the_form(editor_user: Any) -> None:
    flag, dev, _ = setup_flag()
    response = client_for(editor_user).post(save_url(), form(comment="pro first"))
    assert response.status_code == 302
    config = FlagConfig.objects.get(flag=flag, environment=dev)
    assert config.rules == [
        {
            "id": "pro",
            "name": "Pro plan",
            "clauses": [{"op": "in", "attribute": "plan", "values": ["pro", "team"]}],
            "rollout": None,
            "serve": {"variant": "on"},
        }
    ]
    assert config.version == 2


def test_it_adds_a_rule_without_saving(editor_user: Any) -> None:
    flag, dev, _ = setup_flag()
    response = client_for(editor_user).post(save_url(), form(op="add_rule"), headers=HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and 'id="targeting"' in html
    assert 'name="rule_count" value="2"' in html and 'data-focus="r1-name"' in html
    assert FlagConfig.objects.get(flag=flag, environment=dev).version == 1


def test_it_reorders_and_removes_rules_and_clauses(editor_user: Any) -> None:
    setup_flag()
    client = client_for(editor_user)
    two = form(
        rule_count="2",
        **{
            "r1-id": "beta",
            "r1-name": "Beta",
            "r1-clause_count": "1",
            "r1-c0-attribute": "beta",
            "r1-c0-op": "exists",
            "r1-mode": "variant",
            "r1-variant": "on",
        },
    )
    moved = client.post(save_url(), two | {"op": "up:1"}, headers=HTMX).content.decode()
    assert moved.index('value="beta"') < moved.index('value="pro"')
    removed = client.post(save_url(), two | {"op": "remove_rule:0"}, headers=HTMX).content.decode()
    assert 'value="pro"' not in removed and 'name="rule_count" value="1"' in removed
    no_clause = client.post(
        save_url(), two | {"op": "remove_clause:0:0"}, headers=HTMX
    ).content.decode()
    assert 'name="r0-clause_count" value="0"' in no_clause
    more = client.post(save_url(), two | {"op": "add_clause:1"}, headers=HTMX).content.decode()
    assert 'name="r1-clause_count" value="2"' in more


def test_split_weights_must_total_100(editor_user: Any) -> None:
    flag, dev, _ = setup_flag()
    data = form(**{"default-mode": "split", "default-w0": "60", "default-w1": "30"})
    response = client_for(editor_user).post(save_url(), data)
    assert response.status_code == 400
    html = response.content.decode()
    assert "must total 100%" in html
    # the message sits in the default rule's block, beside the weights
    default_block = html.split('id="default-title"')[1].split("</section>")[0]
    assert "must total 100%" in default_block
    assert FlagConfig.objects.get(flag=flag, environment=dev).version == 1


def test_a_split_saves_when_weights_total_100(editor_user: Any) -> None:
    flag, dev, _ = setup_flag()
    data = form(**{"r0-mode": "split", "r0-w0": "12.5", "r0-w1": "87.5", "r0-bucket_by": "org"})
    assert client_for(editor_user).post(save_url(), data).status_code == 302
    serve = FlagConfig.objects.get(flag=flag, environment=dev).rules[0]["serve"]
    assert serve == {
        "split": [{"variant": "on", "weight": 12.5}, {"variant": "off", "weight": 87.5}],
        "bucket_by": "org",
    }


def test_a_segment_clause_and_a_rollout(editor_user: Any) -> None:
    flag, dev, _ = setup_flag()
    segment("beta-testers", included=["ana"])
    data = form(**{"r0-c0-op": "segment", "r0-c0-segments": ["beta-testers"], "r0-rollout": "25"})
    assert client_for(editor_user).post(save_url(), data).status_code == 302
    saved = FlagConfig.objects.get(flag=flag, environment=dev).rules[0]
    assert saved["clauses"] == [{"op": "segment", "values": ["beta-testers"]}]
    assert saved["rollout"] == {"percentage": 25, "bucket_by": "key"}


def test_engine_errors_show_on_the_rule(editor_user: Any) -> None:
    setup_flag()
    data = form(**{"r0-c0-op": "segment", "r0-c0-segments": ["no-such-segment"]})
    response = client_for(editor_user).post(save_url(), data)
    assert response.status_code == 400
    rule_block = response.content.decode().split('id="rule-0"')[1].split("</li>\n")[0]
    assert "no-such-segment" in rule_block


def test_malformed_posts_are_refused_not_crashed(editor_user: Any) -> None:
    flag, dev, _ = setup_flag()
    client = client_for(editor_user)
    for bad in (
        form(**{"r0-c0-op": "bogus"}),
        form(**{"r0-c0-op": "num_gt", "r0-c0-values": "lots"}),
        form(**{"r0-mode": "split", "r0-w0": "abc"}),
        form(**{"r0-variant": "nope"}),
        form(rule_count="many"),
        form(**{"r0-rollout": "250"}),
        form(off_variant=""),
        form(op="up:99"),
        form(op="remove_clause:x:y"),
    ):
        response = client.post(save_url(), bad)
        assert response.status_code in (200, 302, 400), bad
    assert client.post(save_url(), form(**{"r0-rollout": "250"})).status_code == 400
    assert FlagConfig.objects.get(flag=flag, environment=dev).version <= 2


def test_json_mode_saves_and_reports_errors(editor_user: Any) -> None:
    flag, dev, _ = setup_flag()
    client = client_for(editor_user)
    body = '{"rules": [], "default": {"variant": "on"}, "off_variant": "off", "prerequisites": []}'
    response = client.post(save_url(), {"op": "save_json", "config_json": body})
    assert response.status_code == 302
    assert FlagConfig.objects.get(flag=flag, environment=dev).default == {"variant": "on"}
    broken = client.post(save_url(), {"op": "save_json", "config_json": "{nope"})
    assert broken.status_code == 400 and "Not valid JSON" in broken.content.decode()
    invalid = client.post(
        save_url(), {"op": "save_json", "config_json": '{"default": {"variant": "maybe"}}'}
    )
    assert invalid.status_code == 400 and "default" in invalid.content.decode()


def test_json_mode_is_one_click_away(editor_user: Any) -> None:
    setup_flag()
    response = client_for(editor_user).get(
        "/flags/new-checkout/env/dev/targeting/?mode=json", headers=HTMX
    )
    assert 'name="config_json"' in response.content.decode()


def test_a_viewer_cannot_save_and_sees_no_form(viewer_user: Any) -> None:
    setup_flag()
    client = client_for(viewer_user)
    assert client.post(save_url(), form()).status_code == 403
    assert client.post(save_url(), form(op="add_rule")).status_code == 403
    html = client.get("/flags/new-checkout/").content.decode()
    assert 'id="rules-form"' not in html and "Save " not in html


def test_an_editor_cannot_change_production(editor_user: Any) -> None:
    setup_flag()
    client = client_for(editor_user)
    assert client.post(save_url("prod"), form(comment="x")).status_code == 403
    html = client.get("/flags/new-checkout/?env=prod").content.decode()
    assert "Only admins change production" in html and 'id="rules-form"' not in html


def test_production_asks_for_a_comment_on_the_comment_field(admin_user: Any) -> None:
    flag, _, prod = setup_flag()
    client = client_for(admin_user)
    response = client.post(save_url("prod"), form())
    assert response.status_code == 400
    assert 'id="comment-errors"' in response.content.decode()
    assert client.post(save_url("prod"), form(comment="ship it")).status_code == 302
    assert FlagConfig.objects.get(flag=flag, environment=prod).version == 2


def test_fields_the_form_does_not_edit_are_kept(editor_user: Any) -> None:
    flag, dev, _ = setup_flag()
    imported = rule(
        "pro", {"attribute": "plan", "op": "in", "values": ["pro"]}, serve={"variant": "on"}
    )
    imported["description"] = "from unleash"
    flag_config_update(flag=flag, environment=dev, actor=Actor(label="t"), rules=[imported])
    data = form(**{"r0-name": "Renamed"})
    assert client_for(editor_user).post(save_url(), data).status_code == 302
    saved = FlagConfig.objects.get(flag=flag, environment=dev).rules[0]
    assert saved["name"] == "Renamed" and saved["description"] == "from unleash"
