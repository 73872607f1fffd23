"""A flag's definition: editors change words, only admins change variants and lifecycle."""

from __future__ import annotations

from typing import Any

import pytest

from flags.models import Flag
from tests.flags.ui_support import client_for, setup_flag

pytestmark = pytest.mark.django_db


def data(**extra: Any) -> dict[str, Any]:
    return {
        "name": "New checkout",
        "description": "",
        "tags": "",
        "lifecycle": "active",
        "variant_count": "2",
        "v0-key": "on",
        "v0-value": "true",
        "v1-key": "off",
        "v1-value": "false",
        "op": "save",
    } | extra


def test_an_editor_renames_a_flag(editor_user: Any) -> None:
    setup_flag()
    response = client_for(editor_user).post(
        "/flags/new-checkout/settings/", data(name="Checkout v2", tags="payments")
    )
    assert response.status_code == 302
    flag = Flag.objects.get(key="new-checkout")
    assert flag.name == "Checkout v2" and flag.tags == ["payments"]


def test_only_admins_change_variants_or_lifecycle(editor_user: Any, admin_user: Any) -> None:
    setup_flag()
    editor = client_for(editor_user)
    url = "/flags/new-checkout/settings/"
    assert editor.post(url, data(**{"v0-key": "yes"})).status_code == 403
    assert editor.post(url, data(lifecycle="archived")).status_code == 403
    admin = client_for(admin_user)
    assert admin.post(url, data(comment="rename", **{"v0-key": "yes"})).status_code == 302
    assert Flag.objects.get(key="new-checkout").variant_keys == ["yes", "off"]
    response = admin.post(url, data(lifecycle="permanent", comment="keep", **{"v0-key": "yes"}))
    assert response.status_code == 302
    assert Flag.objects.get(key="new-checkout").lifecycle == "permanent"


def test_removing_a_variant_in_use_is_refused_on_the_form(admin_user: Any) -> None:
    setup_flag()
    # "off" is every environment's off variant: the engine's validator refuses to drop it.
    only_on = data(variant_count="1")
    response = client_for(admin_user).post("/flags/new-checkout/settings/", only_on)
    assert response.status_code == 400 and "off" in response.content.decode()
    assert Flag.objects.get(key="new-checkout").variant_keys == ["on", "off"]


def test_a_boolean_value_must_be_true_or_false(admin_user: Any) -> None:
    setup_flag()
    response = client_for(admin_user).post(
        "/flags/new-checkout/settings/", data(**{"v0-value": "maybe"})
    )
    assert response.status_code == 400 and "Choose true or false" in response.content.decode()


def test_a_viewer_reads_but_cannot_post(viewer_user: Any) -> None:
    setup_flag()
    client = client_for(viewer_user)
    html = client.get("/flags/new-checkout/settings/").content.decode()
    assert "Save settings" not in html
    assert client.post("/flags/new-checkout/settings/", data()).status_code == 403
