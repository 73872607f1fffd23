"""The cost page: spend over time by a grouping, totals against the previous period, top
conversations and users, and the saving hints (docs/costs.md). htmx swaps only the results
when the period, grouping or environment changes; every control also works without it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from feedback.usage import bucket_starts, period_get
from flags.models import Environment
from flagsite.rendering import page

from .. import hints
from ..charts import stacked_cost_chart
from ..forms import CostFilters
from ..spend import (
    GROUPINGS,
    calls_in,
    spend_by_group,
    spend_series,
    spend_totals,
    top_spenders,
)


def _change(now_cost: Any, before: Any) -> float | None:
    return float((now_cost - before) / before) if before else None


def cost_report(*, period_key: str, grouping: str, env_key: str, flag_key: str) -> dict[str, Any]:
    """Everything the page shows, as plain values (the view only parses and renders)."""
    now = timezone.now()
    period = period_get(period_key)
    starts = bucket_starts(period, now)
    since, until = starts[0], now + timedelta(microseconds=1)
    env = Environment.objects.filter(key=env_key).first() if env_key else None
    env_id = env.pk if env else None
    calls = calls_in(since=since, until=until, environment_id=env_id)
    previous = calls_in(since=since - (until - since), until=since, environment_id=env_id)
    totals = spend_totals(calls)
    before = spend_totals(previous)
    series = spend_series(calls, starts=starts, grouping=grouping, flag_key=flag_key)
    return {
        "period": period,
        "grouping": grouping,
        "grouping_label": GROUPINGS[grouping],
        "flag_key": flag_key,
        "environment": env,
        "since": since,
        "now": now,
        "previous_since": since - (until - since),
        "totals": totals,
        "previous": before,
        "change": _change(totals.cost, before.cost),
        "groups": spend_by_group(calls, previous, grouping=grouping, flag_key=flag_key),
        "chart": stacked_cost_chart(series, starts) if series else None,
        "daily": period.step >= timedelta(days=1),
        "top_conversations": top_spenders(calls, "conversation_id"),
        "top_users": top_spenders(calls, "user_key"),
        "shares": hints.model_shares(calls),
        "repeated": hints.repeated_prompts(calls),
        "routing": hints.short_query_routing(calls, now=now),
        "thresholds": {
            "short_prompt": hints.SHORT_PROMPT_TOKENS,
            "short_completion": hints.SHORT_COMPLETION_TOKENS,
            "factor": hints.EXPENSIVE_FACTOR,
        },
    }


@login_required
@require_GET
def cost_page(request: HttpRequest) -> HttpResponse:
    form = CostFilters(request.GET)
    if not form.is_valid():
        # A bad query string is named, not guessed: 400 with the form's errors.
        return page(request, "costs/spend.html", {"form": form}, status=400)
    data = form.cleaned_data
    report = cost_report(
        period_key=data["period"] or "7d",
        grouping=data["group"] or "model",
        env_key=data["env"],
        flag_key=data["flag"],
    )
    return page(
        request,
        "costs/spend.html",
        {"form": form, "report": report},
        partial="costs/_spend_results.html",
    )
