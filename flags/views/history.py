"""A flag's versions (definition + per-environment config), diffs, rollback and audit trail."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from flags.changes import version_restore
from flags.diff import json_diff
from flags.models import AuditEvent, Environment, Version
from flags.policy import (
    access_for,
    production_exists,
    require_version_restore,
    version_reaches_production,
)

from ._common import actor, diff_rows, get_flag, page
from .dashboard import flag_row

DEFINITION = "definition"


def _versions(flag: Any, scope: str) -> Any:
    qs = Version.objects.filter(flag=flag).select_related("author", "environment")
    if scope == DEFINITION:
        return qs.filter(subject=Version.Subject.FLAG).order_by("-number")
    return qs.filter(subject=Version.Subject.CONFIG, environment__key=scope).order_by("-number")


def _diff_pair(versions: list[Version], a_id: str | None, b_id: str | None) -> tuple:
    by_id = {str(v.id): v for v in versions}
    b = by_id.get(b_id or "") or (versions[0] if versions else None)
    a = by_id.get(a_id or "") or (versions[1] if len(versions) > 1 else b)
    return a, b


def restorable(user: Any, versions: list[Version]) -> set[int]:
    """The ids of the versions this user may roll back to (flags.policy decides)."""
    access = access_for(user)
    if not access.can_write:
        return set()
    has_production = production_exists()
    return {
        v.id
        for v in versions
        if access.may(production=version_reaches_production(v, has_production=has_production))
    }


def _serve_text(serve: Any) -> str:
    if not isinstance(serve, dict):
        return "nothing"
    if "split" in serve:
        return "a split of " + ", ".join(
            f"{part.get('variant')} {part.get('weight')}%" for part in serve["split"]
        )
    return str(serve.get("variant", "nothing"))


def restore_preview(current: Version, target: Version) -> dict[str, Any]:
    """What rolling back to `target` changes, from now: plain sentences for what matters most
    (on/off, what is served) and the full diff from the current version."""
    now, then = current.data or {}, target.data or {}
    where = f" in {target.environment.name}" if target.environment else ""
    headline: list[str] = []
    if target.subject == Version.Subject.CONFIG:
        if now.get("enabled") != then.get("enabled"):
            state = "ON" if then.get("enabled") else "OFF"
            headline.append(f"The flag will turn {state}{where}.")
        if not then.get("enabled"):
            headline.append(f"Everyone will get {then.get('off_variant')} (the flag is off).")
        elif now.get("default") != then.get("default"):
            headline.append(
                f"The default rule will serve {_serve_text(then.get('default'))} "
                f"instead of {_serve_text(now.get('default'))}."
            )
        if len(now.get("rules") or []) != len(then.get("rules") or []):
            headline.append(
                f"Rules: {len(now.get('rules') or [])} now, {len(then.get('rules') or [])} after."
            )
    elif target.subject == Version.Subject.FLAG:
        keys_now = [v.get("key") for v in now.get("variants") or []]
        keys_then = [v.get("key") for v in then.get("variants") or []]
        if keys_now != keys_then:
            headline.append(
                f"Variants will be {', '.join(map(str, keys_then))} "
                f"(now {', '.join(map(str, keys_now))})."
            )
        if now.get("lifecycle") != then.get("lifecycle"):
            headline.append(f"Lifecycle will be {then.get('lifecycle')}.")
    else:
        for field in ("included", "excluded"):
            before, after = len(now.get(field) or []), len(then.get(field) or [])
            if before != after:
                headline.append(f"{field.capitalize()} keys: {before} now, {after} after.")
        if now.get("percentage") != then.get("percentage"):
            percent_now, percent_then = now.get("percentage"), then.get("percentage")
            headline.append(f"Percentage: {percent_now} now, {percent_then} after.")
    rows = diff_rows(json_diff(now, then))
    return {"headline": headline, "rows": rows}


@login_required
def flag_history(request: HttpRequest, key: str) -> HttpResponse:
    flag = get_flag(key)
    environments = list(Environment.objects.all())
    scope = request.GET.get("scope") or (environments[0].key if environments else DEFINITION)
    if scope != DEFINITION and scope not in {e.key for e in environments}:
        scope = DEFINITION
    versions = list(_versions(flag, scope))
    a, b = _diff_pair(versions, request.GET.get("a"), request.GET.get("b"))
    for version in versions[1:]:  # the rollback confirm says what will change
        version.preview = restore_preview(versions[0], version)
    context = {
        "flag": flag,
        "tab": "history",
        "scope": scope,
        "environments": environments,
        "versions": versions,
        "latest": versions[0] if versions else None,
        "a": a,
        "b": b,
        "diff": diff_rows(json_diff(a.data, b.data)) if a and b else [],
        "restorable": restorable(request.user, versions),
        "row": flag_row(flag, environments, request.user, timezone.now()),
    }
    partial = "flags/_diff.html" if request.GET.get("a") else "flags/_history.html"
    return page(request, "flags/history.html", context, partial=partial)


@login_required
@require_POST
def version_rollback(request: HttpRequest, version_id: int) -> HttpResponse:
    version = get_object_or_404(
        Version.objects.select_related("flag", "environment", "segment"), pk=version_id
    )
    require_version_restore(request.user, version)
    if version.subject == Version.Subject.SEGMENT and version.segment is not None:
        back = reverse("segment_detail", args=[version.segment.key])
    else:
        assert version.flag is not None
        scope = version.environment.key if version.environment else DEFINITION
        back = reverse("flag_history", args=[version.flag.key]) + f"?scope={scope}"
    comment = request.POST.get("comment", "").strip()
    if not comment:
        messages.error(request, "A rollback needs a comment: say why.")
        return redirect(back)
    try:
        restored = version_restore(version=version, actor=actor(request), comment=comment)
    except ValidationError as exc:
        messages.error(request, "Could not roll back: " + str(exc))
        return redirect(back)
    messages.success(
        request, f"Rolled back to version {version.number} (now version {restored.number})."
    )
    return redirect(back)


@login_required
def flag_activity(request: HttpRequest, key: str) -> HttpResponse:
    flag = get_flag(key)
    events = AuditEvent.objects.filter(object_type="flag", object_key=flag.key).select_related(
        "actor", "environment", "version"
    )[:200]
    environments = list(Environment.objects.all())
    context = {
        "flag": flag,
        "tab": "activity",
        "items": [{"event": e, "url": "", "diff": e.diff} for e in events],
        "environments": environments,
        "row": flag_row(flag, environments, request.user, timezone.now()),
    }
    return page(request, "flags/activity.html", context)
