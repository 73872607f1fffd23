"""The dashboard: every flag with a switch per environment, search, filters, the newest open
alerts (from `alerts`) and recent activity."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from alerts.context import open_alerts_newest
from feedback.usage import flags_last_evaluated
from flags.forms import SearchForm
from flags.models import AuditEvent, Environment, Flag, FlagConfig, Lifecycle
from flags.policy import access_for

from ._common import page

STALE_AFTER = timedelta(days=30)


def served_variants(config: FlagConfig) -> set[str]:
    """Every variant this configuration can serve."""
    if not config.enabled:
        return {config.off_variant}
    served: set[str] = {config.off_variant} if config.prerequisites else set()
    for serve in [r.get("serve") or {} for r in config.rules or []] + [config.default or {}]:
        if "split" in serve:
            served |= {s["variant"] for s in serve["split"] if s.get("weight")}
        elif serve.get("variant"):
            served.add(serve["variant"])
    return served


def unused_window() -> timedelta:
    return timedelta(days=settings.FLAGSITE_STALE_EVALUATION_DAYS)


def last_seen_map(now: Any, *, flag_keys: list[str] | None = None) -> dict[str, Any]:
    """{flag key: last evaluation} within the unused window (older ones do not matter)."""
    return flags_last_evaluated(since=now - unused_window(), flag_keys=flag_keys)


def is_unused(flag: Flag, last_evaluated: Any, now: Any) -> bool:
    """Nobody evaluated it (SDK exposures or server-side evaluations) for
    FLAGSITE_STALE_EVALUATION_DAYS, and it is older than that. Archived flags are not listed."""
    window = unused_window()
    if flag.lifecycle == Lifecycle.ARCHIVED or now - flag.created_at < window:
        return False
    return last_evaluated is None or now - last_evaluated > window


def is_stale(flag: Flag, configs: list[FlagConfig], now: Any, *, unused: bool = False) -> bool:
    """Stale: an active (not permanent) flag that nobody evaluates any more (`unused`), or that
    nobody changed for 30 days and serves one and the same variant in every environment — it
    has done its job and can be removed from code."""
    if flag.lifecycle != Lifecycle.ACTIVE:
        return False
    if unused:
        return True
    if not configs:
        return False
    last_change = max([flag.updated_at] + [c.updated_at for c in configs])
    if now - last_change < STALE_AFTER:
        return False
    served: set[str] = set()
    for config in configs:
        served |= served_variants(config)
    return len(served) <= 1


def flag_row(
    flag: Flag,
    environments: list[Environment],
    user: Any,
    now: Any,
    *,
    last_seen: dict[str, Any] | None = None,
) -> dict[str, Any]:
    access = access_for(user)
    configs = {c.environment_id: c for c in flag.configs.all()}
    if last_seen is None:  # one flag's page: look up only its own evaluations
        last_seen = last_seen_map(now, flag_keys=[flag.key])
    last_evaluated = last_seen.get(flag.key)
    unused = is_unused(flag, last_evaluated, now)
    return {
        "flag": flag,
        "cells": [
            {"env": env, "config": configs.get(env.id), "can_change": access.can_change(env)}
            for env in environments
        ],
        "stale": is_stale(flag, list(configs.values()), now, unused=unused),
        "last_evaluated": last_evaluated,
        "unused": unused,
    }


def variant_matches(flag: Flag, query: str) -> list[dict[str, str]]:
    """The flag's variants whose value contains `query` (case-insensitive): a string as is, any
    other value (JSON, number) as compact JSON text. Answers "which flags can serve gpt-4o?"."""
    needle = query.lower()
    found = []
    for variant in flag.variants or []:
        value = variant.get("value")
        text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
        if needle in text.lower():
            found.append({"key": str(variant.get("key", "")), "value": text})
    return found


def _filtered(form: SearchForm, last_seen: dict[str, Any]) -> list[Flag]:
    flags = Flag.objects.select_related("owner").prefetch_related("configs").order_by("key")
    data = form.cleaned_data if form.is_valid() else {}
    q = (data.get("q") or "").strip()
    status = data.get("status") or ""
    if status != "archived":
        flags = flags.exclude(lifecycle=Lifecycle.ARCHIVED)
    else:
        flags = flags.filter(lifecycle=Lifecycle.ARCHIVED)
    if status == "on":
        flags = flags.filter(configs__enabled=True).distinct()
    elif status == "off":
        flags = flags.exclude(configs__enabled=True)
    result = list(flags.filter(Q(key__icontains=q) | Q(name__icontains=q)) if q else flags)
    if q:  # tags and variant values live in JSON: match them in Python, portable across databases
        extra = [
            f for f in flags if any(q.lower() in t.lower() for t in f.tags) or variant_matches(f, q)
        ]
        result += [f for f in extra if f not in result]
        result.sort(key=lambda f: f.key)
    tag = (data.get("tag") or "").strip()
    if tag:
        result = [f for f in result if tag in f.tags]
    if status == "stale":
        now = timezone.now()
        result = [
            f
            for f in result
            if is_stale(
                f, list(f.configs.all()), now, unused=is_unused(f, last_seen.get(f.key), now)
            )
        ]
    return result


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.GET)
    environments = list(Environment.objects.all())
    now = timezone.now()
    last_seen = last_seen_map(now)
    rows = [
        flag_row(f, environments, request.user, now, last_seen=last_seen)
        for f in _filtered(form, last_seen)
    ]
    unused = [
        f
        for f in Flag.objects.exclude(lifecycle=Lifecycle.ARCHIVED).order_by("key")
        if is_unused(f, last_seen.get(f.key), now)
    ]
    query = (form.cleaned_data.get("q") or "").strip() if form.is_valid() else ""
    if query:
        for row in rows:  # say which variant matched, so "gpt-4o" shows where it is served
            row["matches"] = variant_matches(row["flag"], query)
    all_tags = sorted({t for tags in Flag.objects.values_list("tags", flat=True) for t in tags})
    context = {
        "form": form,
        "environments": environments,
        "rows": rows,
        "tags": all_tags,
        "selected_tag": request.GET.get("tag", ""),
        "stale_count": sum(1 for r in rows if r["stale"]),
        "unused": unused,
        "unused_days": settings.FLAGSITE_STALE_EVALUATION_DAYS,
        # The header's count follows the filters: "2 of 6 flags match" / "6 flags".
        "filtered": any(request.GET.get(name) for name in ("q", "status", "tag")),
        "total": Flag.objects.exclude(lifecycle=Lifecycle.ARCHIVED).count(),
        "alerts": open_alerts_newest(limit=5),
        "recent": AuditEvent.objects.select_related("actor", "environment")[:8],
    }
    return page(request, "flags/dashboard.html", context, partial="flags/_flag_table.html")
