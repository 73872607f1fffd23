"""Environments and API keys (admins create and revoke; a new key is shown once)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from delivery.keys import api_key_create, api_key_revoke
from delivery.models import ApiKey
from flags.changes import environment_create
from flags.forms import ApiKeyForm, EnvironmentForm
from flags.models import Environment
from flags.policy import access_for, require_admin

from ._common import actor, change_errors, page


def _context(**extra: Any) -> dict[str, Any]:
    return {
        "environments": Environment.objects.annotate(key_count=Count("api_keys")).order_by(
            "sort_order", "key"
        ),
        "keys": ApiKey.objects.select_related("environment", "created_by"),
        "env_form": EnvironmentForm(),
        "key_form": ApiKeyForm(),
        **extra,
    }


NEW_KEY_SESSION = "new_api_key"


@login_required
def environments(request: HttpRequest) -> HttpResponse:
    extra: dict[str, Any] = {}
    # A key just created: its secret was stashed by api_key_new and is shown on this one GET.
    stashed = request.session.pop(NEW_KEY_SESSION, None)
    if isinstance(stashed, dict) and access_for(request.user).is_admin:
        key_id = stashed.get("id")
        keys = ApiKey.objects.select_related("environment")
        created = keys.filter(pk=key_id) if key_id is not None else keys.none()
        if created:
            extra = {"created": created[0], "raw_key": stashed.get("raw", "")}
    response = page(request, "environments/index.html", _context(**extra))
    if extra:
        response["Cache-Control"] = "no-store"  # the secret must not come back from a cache
    return response


@login_required
@require_POST
def environment_new(request: HttpRequest) -> HttpResponse:
    require_admin(request.user)
    form = EnvironmentForm(request.POST)
    if form.is_valid():
        try:
            env = environment_create(actor=actor(request), **form.cleaned_data)
        except ValidationError as exc:  # ConfigError, or a model field's own check
            for path, message in change_errors(exc):
                form.add_error(path if path in form.fields else None, message)
        else:
            messages.success(request, f"Created environment {env.key}; every flag is off there.")
            return redirect("environments")
    return page(request, "environments/index.html", _context(env_form=form), status=400)


@login_required
@require_POST
def api_key_new(request: HttpRequest) -> HttpResponse:
    require_admin(request.user)
    form = ApiKeyForm(request.POST)
    if not form.is_valid():
        return page(request, "environments/index.html", _context(key_form=form), status=400)
    key, raw = api_key_create(actor=actor(request), **form.cleaned_data)
    # Post/redirect/get: the secret waits in the session for the next GET, which shows it once,
    # so a reload neither creates a second key nor shows this one again.
    request.session[NEW_KEY_SESSION] = {"id": key.pk, "raw": raw}
    return redirect("environments")


@login_required
@require_POST
def api_key_revoke_view(request: HttpRequest, key_id: int) -> HttpResponse:
    require_admin(request.user)
    api_key = get_object_or_404(ApiKey, pk=key_id)
    api_key_revoke(api_key=api_key, actor=actor(request))
    messages.success(request, f"Revoked {api_key.name} ({api_key.hint}…). It stops working now.")
    return redirect("environments")
