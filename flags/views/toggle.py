"""Turn a flag on or off in one environment (the dashboard row and the flag page's switches)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from flags.changes import flag_toggle
from flags.models import Environment, FlagConfig
from flags.policy import require_environment

from ._common import (
    HtmxHttpRequest,
    actor,
    change_errors,
    comment_from,
    get_environment,
    get_flag,
    page,
)
from .dashboard import flag_row


@login_required
@require_POST
def toggle(request: HtmxHttpRequest, key: str, env: str) -> HttpResponse:
    flag = get_flag(key)
    environment = get_environment(env)
    require_environment(request.user, environment)
    enabled = request.POST.get("enabled") == "true"
    comment = comment_from(request)
    error = ""
    try:
        flag_toggle(
            flag=flag,
            environment=environment,
            enabled=enabled,
            actor=actor(request),
            comment=comment,
        )
    except ValidationError as exc:  # ConfigError, or a model field's own check
        error = " ".join(message for _, message in change_errors(exc))
    source = request.POST.get("from", "dashboard")
    if request.htmx:
        flag.refresh_from_db()
        environments = list(Environment.objects.all())
        row = flag_row(flag, environments, request.user, timezone.now())
        context: dict[str, Any] = {
            "row": row,
            "environments": environments,
            "error": error,
            "error_env": env,
        }
        if source != "flag":
            return page(request, "flags/_flag_row.html", context)
        # The flag page shows the state twice (the header's switches and the targeting tab's
        # state line): the switches are the target, the state line comes along out of band.
        context["status_config"] = FlagConfig.objects.select_related("environment").get(
            flag=flag, environment=environment
        )
        return page(request, "flags/_env_switches.html", context)
    if error:
        # Without JavaScript there is no prompt: ask for the comment on a page of its own.
        context = {
            "flag": flag,
            "environment": environment,
            "enabled": enabled,
            "error": error,
            "source": source,
        }
        return page(request, "flags/toggle_confirm.html", context, status=400)
    state = "on" if enabled else "off"
    messages.success(request, f"{flag.key} is {state} in {environment.name}.")
    if source == "flag":
        return redirect(reverse("flag_detail", args=[flag.key]) + f"?env={environment.key}")
    return redirect("dashboard")
