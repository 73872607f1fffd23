"""The feedback inbox: filtering, the LLM call behind each piece of feedback, counts, triage.

A piece of feedback is linked to the LLM call with the same request_id; without one (or when no
call carries it), to the latest call of its conversation at or before the feedback, else the
latest call of the conversation. The link is one SQL annotation (`linked_call_id`) that both the
list and the model / flag filters use, so what you filter on is what you see.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any, TypedDict

from django import forms
from django.db.models import CharField, Count, Exists, OuterRef, QuerySet, Subquery, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce, NullIf
from django.utils import timezone

from flags.models import Environment

from .models import Category, Feedback, FeedbackType, LlmCall

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

UNCATEGORIZED = "uncategorized"
# The category chart's geometry (inline SVG): label column, bar column, row height.
BAR_X = 130
BAR_MAX = 220
BAR_STEP = 26


class InboxFilters(forms.Form):
    environment = forms.ModelChoiceField(
        queryset=Environment.objects.all(),
        to_field_name="key",
        required=False,
        empty_label="All environments",
    )
    type = forms.ChoiceField(choices=[("", "Any type"), *FeedbackType.choices], required=False)
    rating = forms.TypedChoiceField(
        choices=[("", "Any rating")] + [(str(i), str(i)) for i in range(1, 6)],
        coerce=int,
        empty_value=None,
        required=False,
    )
    category = forms.ChoiceField(
        choices=[("", "Any category"), *Category.choices, (UNCATEGORIZED, "Uncategorized")],
        required=False,
    )
    flag = forms.CharField(max_length=64, required=False)
    variant = forms.CharField(max_length=128, required=False)
    model = forms.CharField(max_length=128, required=False)
    date_from = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    has_comment = forms.ChoiceField(
        choices=[("", "With or without comment"), ("yes", "With comment"), ("no", "No comment")],
        required=False,
    )
    status = forms.ChoiceField(
        choices=[("", "Open and resolved"), ("open", "Open"), ("resolved", "Resolved")],
        required=False,
    )
    votes = forms.ChoiceField(
        choices=[("", "Latest vote per person"), ("all", "Also replaced votes")],
        required=False,
        label="Votes",
    )


def _linked_call_id() -> Coalesce:
    calls = LlmCall.objects.filter(environment_id=OuterRef("environment_id"))
    by_request = calls.exclude(request_id="").filter(request_id=OuterRef("request_id"))
    in_conversation = calls.exclude(conversation_id="").filter(
        conversation_id=OuterRef("conversation_id")
    )
    before = in_conversation.filter(timestamp__lte=OuterRef("timestamp"))
    return Coalesce(
        Subquery(by_request.order_by("-timestamp").values("pk")[:1]),
        Subquery(before.order_by("-timestamp").values("pk")[:1]),
        Subquery(in_conversation.order_by("-timestamp").values("pk")[:1]),
    )


def _effective_category() -> Coalesce:
    return Coalesce(NullIf("triage_category", Value("")), "category")


def _day_start(day: Any) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


class _SearchAnnotations(TypedDict):
    effective: str
    linked_call_id: int | None


def feedback_search(
    filters: dict[str, Any], *, with_category: bool = True
) -> QuerySet[WithAnnotations[Feedback, _SearchAnnotations]]:
    """Feedback matching the inbox filters (cleaned InboxFilters data), newest first."""
    # A changed vote counts once: only the latest per (response, user), unless asked for all.
    base: QuerySet[Feedback, Any] = (
        Feedback.objects.with_replaced()
        if filters.get("votes") == "all"
        else Feedback.objects.current()
    )
    qs = base.select_related("environment", "resolved_by").annotate(
        effective=_effective_category(), linked_call_id=_linked_call_id()
    )
    if filters.get("environment"):
        qs = qs.filter(environment=filters["environment"])
    if filters.get("type"):
        qs = qs.filter(type=filters["type"])
    if filters.get("rating"):
        qs = qs.filter(rating=filters["rating"])
    category = filters.get("category")
    if with_category and category == UNCATEGORIZED:
        qs = qs.filter(effective="")
    elif with_category and category:
        qs = qs.filter(effective=category)
    if filters.get("date_from"):
        qs = qs.filter(timestamp__gte=_day_start(filters["date_from"]))
    if filters.get("date_to"):
        qs = qs.filter(timestamp__lt=_day_start(filters["date_to"] + timedelta(days=1)))
    if filters.get("has_comment") == "yes":
        qs = qs.exclude(comment="")
    elif filters.get("has_comment") == "no":
        qs = qs.filter(comment="")
    if filters.get("status") == "open":
        qs = qs.filter(resolved_at__isnull=True)
    elif filters.get("status") == "resolved":
        qs = qs.filter(resolved_at__isnull=False)
    calls = LlmCall.objects.filter(pk=OuterRef("linked_call_id"))
    if filters.get("model"):
        qs = qs.filter(Exists(calls.filter(model=filters["model"])))
    if filters.get("flag"):
        flag_calls = calls.filter(flags__has_key=filters["flag"])
        if filters.get("variant"):
            # Cast: compare the served variant as text (a bare key transform compares JSON).
            served = Cast(KeyTextTransform(filters["flag"], "flags"), CharField())
            flag_calls = flag_calls.alias(served=served).filter(served=filters["variant"])
        qs = qs.filter(Exists(flag_calls))
    return qs.order_by("-timestamp", "-id")


@dataclass(frozen=True)
class Row:
    feedback: Feedback
    call: LlmCall | None


def rows_with_calls(feedback: Iterable[Feedback]) -> list[Row]:
    """Attach each piece of feedback's linked LLM call (one query for the lot)."""
    items = list(feedback)
    ids = {call_id for f in items if (call_id := getattr(f, "linked_call_id", None))}
    calls = LlmCall.objects.in_bulk(ids) if ids else {}
    return [Row(f, calls.get(getattr(f, "linked_call_id", None))) for f in items]


@dataclass(frozen=True)
class Bar:
    category: str
    label: str
    count: int
    width: float  # pixels: the largest bar is BAR_MAX wide
    y: int

    @property
    def count_x(self) -> float:
        return BAR_X + self.width + 6


def _bars(counts: dict[str, int], labels: list[tuple[str, str]]) -> list[Bar]:
    top = max(counts.values(), default=0) or 1
    return [
        Bar(
            category=value or UNCATEGORIZED,
            label=label,
            count=counts.get(value, 0),
            width=round(BAR_MAX * counts.get(value, 0) / top, 1),
            y=i * BAR_STEP,
        )
        for i, (value, label) in enumerate(labels)
    ]


def vote_counts(filters: dict[str, Any]) -> list[Bar]:
    """Thumbs up and thumbs down among the matching feedback (latest vote per person). Like the
    reasons chart, it ignores the category filter."""
    counts = dict(
        feedback_search({**filters, "votes": ""}, with_category=False)
        .order_by()
        .values_list("type")
        .annotate(n=Count("id"))
        .values_list("type", "n")
    )
    return _bars(counts, list(FeedbackType.choices))


def category_counts(filters: dict[str, Any]) -> list[Bar]:
    """Why people voted thumbs down: matching thumbs-down feedback per (effective) category,
    for the bar chart ("No reason given" when none was picked). Thumbs up has no reason and is
    charted by `vote_counts`. The category filter itself is not applied, so the chart compares
    categories."""
    counts = dict(
        feedback_search({**filters, "votes": ""}, with_category=False)
        .filter(type=FeedbackType.THUMBS_DOWN)
        .order_by()
        .values_list("effective")
        .annotate(n=Count("id"))
        .values_list("effective", "n")
    )
    return _bars(counts, [*Category.choices, ("", "No reason given")])


def feedback_triage(
    *, feedback: Feedback, user: Any, category: str | None = None, resolved: bool | None = None
) -> Feedback:
    """Set the failure category a person decided on ("" clears it) and/or resolve / reopen."""
    changed: list[str] = []
    if category is not None:
        if category and category not in Category.values:
            raise ValueError(f"unknown category {category!r}")
        feedback.triage_category = category
        changed.append("triage_category")
    if resolved is not None:
        feedback.resolved_at = timezone.now() if resolved else None
        feedback.resolved_by = user if resolved else None
        changed += ["resolved_at", "resolved_by"]
    if changed:
        feedback.save(update_fields=changed)
    return feedback


CSV_HEADER = [
    "timestamp",
    "environment",
    "id",
    "type",
    "rating",
    "category",
    "reported_category",
    "comment",
    "conversation_id",
    "request_id",
    "user_key",
    "resolved_at",
    "model",
    "prompt_tokens",
    "completion_tokens",
    "latency_ms",
    "cost_usd",
]


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # A cell starting with = + - @ is a formula in spreadsheets: user comments must stay text.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def feedback_csv_rows(qs: QuerySet[Feedback], *, chunk: int = 500) -> Iterator[list[str]]:
    yield CSV_HEADER
    batch: list[Feedback] = []
    for item in qs.iterator(chunk_size=chunk):
        batch.append(item)
        if len(batch) == chunk:
            yield from _csv_lines(batch)
            batch = []
    yield from _csv_lines(batch)


def _csv_lines(batch: list[Feedback]) -> Iterator[list[str]]:
    for row in rows_with_calls(batch):
        f, c = row.feedback, row.call
        yield [
            _cell(v)
            for v in (
                f.timestamp.isoformat(),
                f.environment.key,
                f.event_id,
                f.type,
                f.rating,
                f.effective_category,
                f.category,
                f.comment,
                f.conversation_id,
                f.request_id,
                f.user_key,
                f.resolved_at.isoformat() if f.resolved_at else "",
                c.model if c else "",
                c.prompt_tokens if c else "",
                c.completion_tokens if c else "",
                c.latency_ms if c else "",
                c.cost_usd if c else "",
            )
        ]
