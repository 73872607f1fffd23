"""The compare view and copying targeting between environments: preview, apply, PRG, refusals."""

from __future__ import annotations

from typing import Any

import pytest

from flags.changes import Actor, flag_config_update
from flags.models import AuditEvent, FlagConfig
from tests.flags.test_compare import staged
from tests.flags.ui_support import HTMX, client_for

pytestmark = pytest.mark.django_db

URL = "/flags/new-checkout/compare/"
COPY = "/flags/new-checkout/copy/"
SAME = ("rules", "default")


def _apply(client: Any, **extra: Any) -> Any:
    data = {"from": "dev", "to": "prod", "source_version": "2", "target_version": "1"}
    return client.post(
        COPY, {**data, "comment": "dev looked good"} | extra.pop("data", {}), **extra
    )


def test_it_shows_both_environments_side_by_side_with_differences_marked(viewer_user: Any) -> None:
    staged()
    response = client_for(viewer_user).get(URL + "?a=dev&b=prod")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-compare-row="enabled" data-differs="true"' in html
    assert 'data-compare-row="off_variant" data-differs="false"' in html
    assert 'data-compare-row="rule:beta-rule" data-differs="true"' in html
    assert "not in Prod" in html  # the rule prod lacks
    assert "rule beta-rule (50% rollout)" in html and "default 30%" in html
    assert 'data-compare-row="segments" data-differs="true"' in html
    assert "<strong>6</strong> differences" in html
    assert "Copy Dev" not in html  # viewers get no copy control


def test_it_defaults_to_production_against_the_environment_before_it(editor_user: Any) -> None:
    staged()
    html = client_for(editor_user).get(URL).content.decode()
    assert 'data-side-head="a"' in html
    assert '<option value="dev" selected>' in html and '<option value="prod" selected>' in html
    # an editor may copy into dev, not into production
    assert "Copy Prod's targeting to Dev" in html
    assert "Copy Dev's targeting to Prod" not in html


def test_htmx_gets_only_the_comparison(viewer_user: Any) -> None:
    staged()
    html = client_for(viewer_user).get(URL + "?a=prod&b=dev", headers=HTMX).content.decode()
    assert 'id="compare"' in html
    assert "<html" not in html


def test_the_preview_shows_what_changes_in_the_target_against_it_now(admin_user: Any) -> None:
    staged()
    response = client_for(admin_user).get(COPY + "?from=dev&to=prod")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<code>rules[id=beta-rule]</code>" in html and "<code>default.split</code>" in html
    assert 'name="target_version" value="1"' in html and 'name="source_version" value="2"' in html
    assert "Prod stays <strong>OFF</strong>" in html
    assert "required for production" in html
    assert "will start using segment" in html


def test_applying_writes_one_version_and_redirects_to_a_get(admin_user: Any) -> None:
    flag, _, prod = staged()
    client = client_for(admin_user)
    response = _apply(client)
    assert response.status_code == 302
    assert response["Location"] == URL + "?a=dev&b=prod"
    assert FlagConfig.objects.get(flag=flag, environment=prod).version == 2
    assert AuditEvent.objects.filter(action="flag.config_copied").count() == 1
    page = client.get(response["Location"]).content.decode()
    assert "Copied Dev&#x27;s targeting to Prod (now version 2)." in page
    # The same post again (back button + resubmit) is stale: nothing more is written
    again = _apply(client)
    assert again.status_code == 400
    assert "Prod changed since the preview (version 1 then, 2 now)." in again.content.decode()
    assert AuditEvent.objects.filter(action="flag.config_copied").count() == 1


def test_with_htmx_success_is_a_full_page_redirect(admin_user: Any) -> None:
    staged()
    response = _apply(client_for(admin_user), headers=HTMX)
    assert response.status_code == 204
    assert response["HX-Redirect"] == URL + "?a=dev&b=prod"


def test_a_production_copy_without_a_comment_is_refused_in_the_preview(admin_user: Any) -> None:
    flag, _, prod = staged()
    response = _apply(client_for(admin_user), data={"comment": ""}, headers=HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert "Changes that reach production need a comment" in html
    assert FlagConfig.objects.get(flag=flag, environment=prod).version == 1


def test_a_stale_preview_is_refused_and_the_new_preview_shown(admin_user: Any) -> None:
    flag, _, prod = staged()
    flag_config_update(
        flag=flag,
        environment=prod,
        actor=Actor(label="someone"),
        comment="hotfix",
        default={"variant": "on"},
    )
    response = _apply(client_for(admin_user))
    html = response.content.decode()
    assert response.status_code == 400
    assert "Prod changed since the preview (version 1 then, 2 now)." in html
    assert "Nothing was copied." in html
    assert 'name="target_version" value="2"' in html  # the new preview's base
    config = FlagConfig.objects.get(flag=flag, environment=prod)
    assert config.version == 2 and config.default == {"variant": "on"}


def test_editors_cannot_copy_into_production(editor_user: Any) -> None:
    staged()
    client = client_for(editor_user)
    assert client.get(COPY + "?from=dev&to=prod").status_code == 403
    assert _apply(client).status_code == 403


def test_viewers_cannot_copy(viewer_user: Any) -> None:
    staged()
    response = client_for(viewer_user).post(
        COPY, {"from": "prod", "to": "dev", "source_version": "1", "target_version": "2"}
    )
    assert response.status_code == 403


def test_copying_needs_two_different_environments(admin_user: Any) -> None:
    staged()
    html = client_for(admin_user).get(COPY + "?from=dev&to=dev").content.decode()
    assert html == ""  # redirected: two different environments are needed
    same = client_for(admin_user).get(COPY + "?from=prod&to=prod", follow=True)
    assert "Choose two different environments" in same.content.decode()


def test_an_identical_target_says_so(editor_user: Any) -> None:
    flag, dev, prod = staged()
    flag_config_update(
        flag=flag,
        environment=prod,
        actor=Actor(label="t"),
        comment="same",
        **{k: getattr(FlagConfig.objects.get(flag=flag, environment=dev), k) for k in SAME},
    )
    html = client_for(editor_user).get(COPY + "?from=prod&to=dev").content.decode()
    assert 'data-testid="copy-nothing"' in html and "Copy to Dev" not in html


def test_a_rule_in_another_position_is_one_row_marked_different(viewer_user: Any) -> None:
    flag, dev, prod = staged()
    dev_rules = FlagConfig.objects.get(flag=flag, environment=dev).rules
    first = {"id": "first", "name": "first", "clauses": [], "serve": {"variant": "off"}}
    actor = Actor(label="t")
    flag_config_update(flag=flag, environment=dev, actor=actor, rules=[*dev_rules, first])
    flag_config_update(
        flag=flag, environment=prod, actor=actor, comment="c", rules=[first, *dev_rules]
    )
    html = client_for(viewer_user).get(URL + "?a=dev&b=prod").content.decode()
    assert html.count('data-compare-row="rule:first"') == 1
    assert 'data-compare-row="rule:first" data-differs="true"' in html
    assert 'data-compare-row="rule:beta-rule" data-differs="true"' in html
    assert (
        '<span class="muted small">#2</span>' in html
        and '<span class="muted small">#1</span>' in html
    )
