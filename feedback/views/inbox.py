"""The feedback inbox: list + filters + chart, triage (htmx), CSV export."""

from __future__ import annotations

import csv

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from flags.permissions import require_write
from flagsite.rendering import HtmxHttpRequest, page

from ..inbox import (
    BAR_STEP,
    InboxFilters,
    category_counts,
    feedback_csv_rows,
    feedback_search,
    feedback_triage,
    rows_with_calls,
    vote_counts,
)
from ..models import Category, Feedback

PER_PAGE = 50


def _filters(request: HttpRequest) -> tuple[InboxFilters, dict]:
    form = InboxFilters(request.GET or None)
    if not form.is_bound:
        return form, {}
    form.is_valid()
    # Invalid values (a mistyped date in the URL) are dropped rather than failing the page.
    return form, {k: v for k, v in form.cleaned_data.items() if k not in form.errors}


@login_required
@require_GET
def feedback_inbox(request: HttpRequest) -> HttpResponse:
    form, filters = _filters(request)
    paginator = Paginator(feedback_search(filters), PER_PAGE)
    page_obj = paginator.get_page(request.GET.get("page"))
    bars = category_counts(filters)
    votes = vote_counts(filters)
    query = request.GET.copy()
    query.pop("page", None)
    return page(
        request,
        "feedback/inbox.html",
        {
            "form": form,
            "rows": rows_with_calls(page_obj.object_list),
            "page_obj": page_obj,
            "bars": bars,
            "chart_height": len(bars) * BAR_STEP,
            "vote_bars": votes,
            "vote_chart_height": len(votes) * BAR_STEP,
            "query": query.urlencode(),
            "categories": Category.choices,
        },
        partial="feedback/_results.html",
    )


@login_required
@require_GET
def feedback_export(request: HttpRequest) -> StreamingHttpResponse:
    _, filters = _filters(request)

    class Echo:
        def write(self, value: str) -> str:
            return value

    # Every field quoted: a comment like `fine;=1+1` must not split into a formula cell in a
    # locale whose spreadsheet splits on `;` (leading = + - @ are neutralised in _cell too).
    writer = csv.writer(Echo(), quoting=csv.QUOTE_ALL)
    lines = (writer.writerow(row) for row in feedback_csv_rows(feedback_search(filters)))
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="feedback-{stamp}.csv"'
    return response


@login_required
@require_POST
def feedback_triage_view(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    require_write(request.user)
    item = get_object_or_404(Feedback, pk=pk)
    category = request.POST.get("category")
    resolved_raw = request.POST.get("resolved")
    if category is not None and category not in ("", *Category.values):
        return HttpResponseBadRequest("category: unknown category")
    if resolved_raw not in (None, "true", "false"):
        return HttpResponseBadRequest("resolved: must be true or false")
    resolved = None if resolved_raw is None else resolved_raw == "true"
    feedback_triage(feedback=item, user=request.user, category=category, resolved=resolved)
    if not request.htmx:
        target = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(target, {request.get_host()}):
            target = reverse("feedback_inbox")
        return redirect(target)
    row = rows_with_calls(feedback_search({"votes": "all"}).filter(pk=pk))[0]
    context = {"row": row, "categories": Category.choices, "next_url": reverse("feedback_inbox")}
    response = page(request, "feedback/_row.html", context)
    response["HX-Trigger"] = "feedback-triaged"  # the inbox redraws its category chart
    return response
