"""Segments: bulk paste of keys, conditions, percentage, where each is used, who may edit."""

from __future__ import annotations

from typing import Any

import pytest

from flags.changes import Actor, flag_config_update
from flags.models import Segment
from tests.flags.builders import rule, segment
from tests.flags.ui_support import HTMX, client_for, setup_flag

pytestmark = pytest.mark.django_db


def data(**extra: Any) -> dict[str, Any]:
    return {
        "key": "beta",
        "name": "Beta testers",
        "included": "ana\nbo, cy\n\nana",
        "excluded": "",
        "s-clause_count": "1",
        "s-c0-attribute": "plan",
        "s-c0-op": "in",
        "s-c0-values": "pro",
        "percentage": "",
        "bucket_by": "key",
        "op": "save",
    } | extra


def test_it_creates_a_segment_from_a_bulk_paste(editor_user: Any) -> None:
    response = client_for(editor_user).post("/segments/new/", data())
    assert response.status_code == 302 and response["Location"] == "/segments/beta/"
    beta = Segment.objects.get(key="beta")
    assert beta.included == ["ana", "bo", "cy"]
    assert beta.clauses == [{"op": "in", "attribute": "plan", "values": ["pro"]}]


def test_it_edits_a_segment(editor_user: Any) -> None:
    segment("beta", included=["ana"])
    response = client_for(editor_user).post(
        "/segments/beta/", data(included="x,y", percentage="12.5")
    )
    assert response.status_code == 302
    beta = Segment.objects.get(key="beta")
    assert beta.included == ["x", "y"] and beta.percentage == 12.5 and beta.version == 2


def test_bad_percentage_and_empty_condition_show_on_their_fields(editor_user: Any) -> None:
    client = client_for(editor_user)
    response = client.post("/segments/new/", data(percentage="lots"))
    assert response.status_code == 400 and "Enter a percentage" in response.content.decode()
    empty = client.post("/segments/new/", data(**{"s-c0-attribute": "", "s-c0-values": ""}))
    assert empty.status_code == 400 and "Name the context attribute" in empty.content.decode()
    assert not Segment.objects.exists()


def test_conditions_are_added_and_removed_without_saving(editor_user: Any) -> None:
    client = client_for(editor_user)
    added = client.post("/segments/new/", data(op="add_clause"), headers=HTMX).content.decode()
    assert 'name="s-clause_count" value="2"' in added
    removed = client.post(
        "/segments/new/", data(op="remove_clause:0"), headers=HTMX
    ).content.decode()
    assert 'name="s-clause_count" value="0"' in removed
    assert not Segment.objects.exists()


def test_it_shows_where_a_segment_is_used(viewer_user: Any) -> None:
    flag, dev, _ = setup_flag()
    segment("beta", included=["ana"])
    flag_config_update(
        flag=flag,
        environment=dev,
        actor=Actor(label="t"),
        rules=[rule("b", {"op": "segment", "values": ["beta"]}, serve={"variant": "on"})],
    )
    client = client_for(viewer_user)
    assert "new-checkout" in client.get("/segments/").content.decode()
    detail = client.get("/segments/beta/").content.decode()
    assert "/flags/new-checkout/?env=dev" in detail
    assert "Save segment" not in detail  # viewers read only


def test_viewers_cannot_write_and_editors_not_production_segments(
    viewer_user: Any, editor_user: Any, admin_user: Any
) -> None:
    flag, _, prod = setup_flag()
    segment("beta", included=["ana"])
    assert client_for(viewer_user).post("/segments/new/", data(key="x")).status_code == 403
    assert client_for(viewer_user).post("/segments/beta/", data()).status_code == 403
    flag_config_update(
        flag=flag,
        environment=prod,
        actor=Actor(label="t"),
        comment="beta in prod",
        rules=[rule("b", {"op": "segment", "values": ["beta"]}, serve={"variant": "on"})],
    )
    assert client_for(editor_user).post("/segments/beta/", data()).status_code == 403
    refused = client_for(admin_user).post("/segments/beta/", data())
    assert refused.status_code == 400 and "need a comment" in refused.content.decode()
    assert client_for(admin_user).post("/segments/beta/", data(comment="pro")).status_code == 302
