"""flags.policy: who may change what and which changes need a comment, the same through the UI,
the management API and flags.changes (docs/security.md, "Who may change what")."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied

from flags import policy
from flags.changes import Actor, flag_config_update, flag_toggle, segment_update
from flags.models import Flag, FlagConfig, Segment, Version
from flags.validation import ConfigError
from tests.flags.builders import rule, segment
from tests.flags.ui_support import client_for, setup_flag

pytestmark = pytest.mark.django_db

SCRIPT = Actor(label="script")


def nested_in_production() -> Flag:
    """A production rule uses `outer`, which names `middle`, which names `inner`."""
    flag, _, prod = setup_flag()
    segment("inner", included=["ana"])
    segment("middle", clauses=[{"op": "segment", "values": ["inner"]}])
    segment("outer", clauses=[{"op": "segment", "values": ["middle"]}])
    segment("unused", included=["bo"])
    flag_config_update(
        flag=flag,
        environment=prod,
        actor=SCRIPT,
        comment="outer in prod",
        rules=[rule("r", {"op": "segment", "values": ["outer"]}, serve={"variant": "on"})],
    )
    return flag


def ui_segment_form(**extra: Any) -> dict[str, Any]:
    return {
        "name": "x",
        "included": "ana\nzoe",
        "excluded": "",
        "s-clause_count": "0",
        "percentage": "",
        "bucket_by": "key",
        "op": "save",
    } | extra


def api(client: Any, method: str, url: str, data: Any) -> Any:
    return getattr(client, method)(url, json.dumps(data), content_type="application/json")


def test_the_whole_reference_graph_reaches_production() -> None:
    nested_in_production()
    assert policy.production_segment_keys() == {"outer", "middle", "inner"}
    assert not policy.segment_reaches_production(Segment.objects.get(key="unused"))


def test_a_reference_cycle_in_stored_data_ends() -> None:
    nested_in_production()
    # The validator refuses cycles; data written before it (or by hand) must not hang the check.
    Segment.objects.filter(key="inner").update(clauses=[{"op": "segment", "values": ["outer"]}])
    assert policy.production_segment_keys() == {"outer", "middle", "inner"}


def test_an_editor_cannot_save_a_segment_nested_in_production_in_the_ui(editor_user: Any) -> None:
    nested_in_production()
    editor = client_for(editor_user)
    response = editor.post("/segments/inner/", ui_segment_form())
    assert response.status_code == 403
    assert "production" in response.content.decode()
    assert Segment.objects.get(key="inner").included == ["ana"]
    # The detail page says so and offers no save button.
    html = editor.get("/segments/inner/").content.decode()
    assert "Used in production" in html and 'id="save"' not in html
    # A segment no production rule reaches is the editor's to change.
    assert editor.post("/segments/unused/", ui_segment_form()).status_code == 302
    assert Segment.objects.get(key="unused").included == ["ana", "zoe"]


def test_the_api_follows_the_same_segment_policy_as_the_ui(
    client: Any, editor_user: Any, admin_user: Any
) -> None:
    nested_in_production()
    client.force_login(editor_user)
    refused = api(client, "patch", "/api/v1/segments/inner", {"included": ["zoe"]})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "permission_denied"
    assert "production" in refused.json()["error"]["message"]
    # Before: the API refused every segment edit to editors, while the UI allowed unused ones.
    allowed = api(client, "patch", "/api/v1/segments/unused", {"included": ["zoe"]})
    assert allowed.status_code == 200
    assert Segment.objects.get(key="unused").included == ["zoe"]
    created = api(client, "post", "/api/v1/segments", {"key": "fresh", "included": ["a"]})
    assert created.status_code == 201


def test_flags_changes_refuses_an_editor_whoever_calls_it(editor_user: Any) -> None:
    flag = nested_in_production()
    editor = Actor(user=editor_user)
    with pytest.raises(PermissionDenied):
        segment_update(segment=Segment.objects.get(key="inner"), actor=editor, included=["zoe"])
    prod = FlagConfig.objects.get(flag=flag, environment__key="prod").environment
    with pytest.raises(PermissionDenied):
        flag_toggle(flag=flag, environment=prod, enabled=True, actor=editor, comment="go")
    assert Segment.objects.get(key="inner").version == 1
    assert not FlagConfig.objects.get(flag=flag, environment=prod).enabled
    # Outside production the editor's change goes through.
    segment_update(segment=Segment.objects.get(key="unused"), actor=editor, included=["zoe"])


def test_a_segment_production_reaches_needs_a_comment_from_anyone(admin_user: Any) -> None:
    nested_in_production()
    inner = Segment.objects.get(key="inner")
    for actor in (SCRIPT, Actor(user=admin_user)):
        with pytest.raises(ConfigError) as exc:
            segment_update(segment=inner, actor=actor, included=["zoe"])
        assert exc.value.errors[0][0] == "comment"
    segment_update(segment=inner, actor=SCRIPT, included=["zoe"], comment="add zoe")
    assert Segment.objects.get(key="inner").included == ["zoe"]
    # An unused segment needs none.
    segment_update(segment=Segment.objects.get(key="unused"), actor=SCRIPT, included=["zoe"])


def test_admin_segment_save_in_production_asks_for_a_comment_in_api_and_ui(
    client: Any, admin_user: Any
) -> None:
    nested_in_production()
    client.force_login(admin_user)
    response = api(client, "patch", "/api/v1/segments/middle", {"description": "x"})
    assert response.status_code == 400
    assert "comment" in response.json()["error"]["fields"]
    form = client.post("/segments/middle/", ui_segment_form())
    assert form.status_code == 400 and "need a comment" in form.content.decode()
    assert Segment.objects.get(key="middle").version == 1
    saved = api(client, "patch", "/api/v1/segments/middle", {"description": "x", "comment": "y"})
    assert saved.status_code == 200


def test_replacing_variants_needs_a_comment(client: Any, admin_user: Any) -> None:
    setup_flag()
    client.force_login(admin_user)
    variants = [{"key": "on", "value": True, "name": "On"}, {"key": "off", "value": False}]
    url = "/api/v1/flags/new-checkout/variants"
    response = api(client, "put", url, {"variants": variants})
    assert response.status_code == 400
    assert "comment" in response.json()["error"]["fields"]
    assert Flag.objects.get(key="new-checkout").version == 1
    lifecycle = api(client, "patch", "/api/v1/flags/new-checkout", {"lifecycle": "permanent"})
    assert lifecycle.status_code == 400
    assert api(client, "put", url, {"variants": variants, "comment": "names"}).status_code == 200
    # Words that production does not serve need none.
    words = api(client, "patch", "/api/v1/flags/new-checkout", {"description": "checkout v2"})
    assert words.status_code == 200


def test_a_production_rollback_needs_the_callers_comment(client: Any, admin_user: Any) -> None:
    flag, _, prod = setup_flag()
    flag_toggle(flag=flag, environment=prod, enabled=True, actor=SCRIPT, comment="launch")
    first = Version.objects.get(flag=flag, environment=prod, number=1)
    client.force_login(admin_user)
    response = api(client, "post", f"/api/v1/versions/{first.id}/rollback", {})
    assert response.status_code == 400
    assert "comment" in response.json()["error"]["fields"]
    assert FlagConfig.objects.get(flag=flag, environment=prod).enabled
    ok = api(client, "post", f"/api/v1/versions/{first.id}/rollback", {"comment": "too early"})
    assert ok.status_code == 201


@pytest.mark.parametrize(
    ("role", "unused", "nested", "variants", "prod_toggle", "dev_toggle"),
    [
        ("viewer", 403, 403, 403, 403, 403),
        ("editor", 200, 403, 403, 403, 200),
        ("admin", 200, 200, 200, 200, 200),
    ],
)
def test_the_documented_table_holds_through_the_api(
    client: Any,
    role: str,
    unused: int,
    nested: int,
    variants: int,
    prod_toggle: int,
    dev_toggle: int,
    request: Any,
) -> None:
    """One row per role of docs/security.md's table (with comments: only roles are tested)."""
    nested_in_production()
    client.force_login(request.getfixturevalue(f"{role}_user"))
    c = {"comment": "why"}
    assert api(client, "patch", "/api/v1/segments/unused", {"name": "u"} | c).status_code == unused
    assert api(client, "patch", "/api/v1/segments/inner", {"name": "i"} | c).status_code == nested
    named = [{"key": "on", "value": True, "name": "On"}, {"key": "off", "value": False}]
    response = api(client, "put", "/api/v1/flags/new-checkout/variants", {"variants": named} | c)
    assert response.status_code == variants
    toggle = "/api/v1/flags/new-checkout/environments/{}/toggle"
    assert api(client, "post", toggle.format("prod"), {"enabled": True} | c).status_code == (
        prod_toggle
    )
    assert api(client, "post", toggle.format("dev"), {"enabled": True} | c).status_code == (
        dev_toggle
    )


def test_the_history_page_offers_only_the_rollbacks_the_policy_allows(editor_user: Any) -> None:
    flag, dev, prod = setup_flag()
    flag_toggle(flag=flag, environment=dev, enabled=True, actor=SCRIPT)
    flag_toggle(flag=flag, environment=prod, enabled=True, actor=SCRIPT, comment="go")
    editor = client_for(editor_user)
    dev_page = editor.get("/flags/new-checkout/history/?scope=dev").content.decode()
    prod_page = editor.get("/flags/new-checkout/history/?scope=prod").content.decode()
    assert "Roll back" in dev_page
    assert "Roll back" not in prod_page
