"""Archive / unarchive one flag or many (the dashboard's bulk action), through flags.changes so
every change is versioned and audited. A lifecycle change reaches production (an archived flag
leaves every ruleset), so it is for admins; with a production environment it needs a comment
(the production comment rule of flags.changes), and a refusal changes nothing."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from flags.changes import flag_update
from flags.models import Flag, Lifecycle
from flags.policy import require_admin

from ._common import actor, change_errors, comment_from, get_flag

ACTIONS = {"archive": Lifecycle.ARCHIVED, "unarchive": Lifecycle.ACTIVE}


def _bad_request(field: str, message: str) -> HttpResponse:
    return HttpResponse(f"{field}: {message}", status=400, content_type="text/plain")


def _next(request: HttpRequest, fallback: str) -> HttpResponse:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}):
        return redirect(target)
    return redirect(fallback)


def _apply(request: HttpRequest, flags: list[Flag], lifecycle: str) -> int | None:
    """Changes every flag or none (one transaction); None when flags.changes refused (the
    message names the field: e.g. a production change without a comment)."""
    changed = 0
    try:
        with transaction.atomic():
            for flag in flags:
                if flag.lifecycle == lifecycle:
                    continue
                flag_update(
                    flag=flag,
                    actor=actor(request),
                    comment=comment_from(request),
                    lifecycle=lifecycle,
                )
                changed += 1
    except ValidationError as exc:
        for field, message in change_errors(exc):
            messages.error(request, f"{field}: {message}" if field != "general" else message)
        return None
    return changed


@login_required
@require_POST
def flag_lifecycle(request: HttpRequest, key: str) -> HttpResponse:
    """POST action=archive|unarchive for one flag (the flag settings page)."""
    require_admin(request.user)
    flag = get_flag(key)
    action = request.POST.get("action", "")
    if action not in ACTIONS:
        return _bad_request("action", "must be 'archive' or 'unarchive'.")
    if _apply(request, [flag], ACTIONS[action]) is None:
        return _next(request, f"/flags/{flag.key}/settings/")
    done = "Archived" if action == "archive" else "Unarchived"
    messages.success(request, f"{done} {flag.key}.")
    return _next(request, f"/flags/{flag.key}/settings/")


@login_required
@require_POST
def flags_bulk(request: HttpRequest) -> HttpResponse:
    """POST action=archive|unarchive with flags=<key> repeated (the dashboard's checkboxes)."""
    require_admin(request.user)
    action = request.POST.get("action", "")
    if action not in ACTIONS:
        return _bad_request("action", "must be 'archive' or 'unarchive'.")
    keys = list(dict.fromkeys(k for k in request.POST.getlist("flags") if k))
    if not keys:
        messages.error(request, "Select at least one flag.")
        return _next(request, "/")
    flags = list(Flag.objects.filter(key__in=keys).order_by("key"))
    missing = sorted(set(keys) - {f.key for f in flags})
    if missing:
        return _bad_request("flags", f"unknown flag keys: {', '.join(missing)}.")
    changed = _apply(request, flags, ACTIONS[action])
    if changed is None:
        return _next(request, "/")
    done = "Archived" if action == "archive" else "Unarchived"
    messages.success(
        request, f"{done} {changed} flag{'s' if changed != 1 else ''} ({len(flags)} selected)."
    )
    return _next(request, "/")
