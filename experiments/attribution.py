"""The attribution rule, defined once: which variant of a flag an event counts for.

Used by the flag page's outcomes, and by experiments, rollout gates and cost pages (they must
not define their own). Each function returns a query expression, so callers GROUP BY the variant
in SQL and never load events into Python (docs/experiments.md, "Attribution").

- An **LLM call** counts for the variant in its own `flags` ({flag key: variant}), which the SDK
  stamps on the call when it evaluates; otherwise for the unit's assignment.
- A **feedback row** or a **score** (and, later, an implicit signal) counts for the variant of
  the LLM call it is about: the call with the same `request_id`; else the latest call of the same
  `conversation_id` at or before the feedback (the answer being rated); else the unit's
  assignment.
- A unit's **assignment** at time t is the variant of its first exposure to the flag (in the same
  environment) at or before t. Events with none of these are unattributed (variant NULL).
"""

from __future__ import annotations

from django.db.models import CharField, Expression, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce, NullIf

from feedback.models import Exposure, Feedback, LlmCall, Score


def assignment_variant(flag_key: str, *, unit_field: str = "user_key") -> Subquery:
    """The variant of the outer row's unit's first exposure to `flag_key` at or before the outer
    row's `timestamp` (NULL when the unit had none)."""
    first = (
        Exposure.objects.filter(
            environment_id=OuterRef("environment_id"),
            flag_key=flag_key,
            user_key=OuterRef(unit_field),
            timestamp__lte=OuterRef("timestamp"),
        )
        .exclude(user_key="")
        .order_by("timestamp", "id")
        .values("variant_key")[:1]
    )
    return Subquery(first)


def _call_flag(flag_key: str) -> Expression:
    # '' (a call stamped with an empty variant) counts as not stamped.
    return NullIf(KeyTextTransform(flag_key, "flags"), Value(""), output_field=CharField())


def llm_call_variant(flag_key: str) -> Expression:
    """The variant an LlmCall row counts for (annotate it on LlmCall querysets)."""
    return Coalesce(_call_flag(flag_key), assignment_variant(flag_key), output_field=CharField())


def feedback_variant(flag_key: str) -> Expression:
    """The variant a Feedback row counts for (annotate it on Feedback querysets). The same rule
    serves any event with request_id / conversation_id / user_key and a timestamp."""
    calls = LlmCall.objects.filter(environment_id=OuterRef("environment_id")).annotate(
        variant=_call_flag(flag_key)
    )
    by_request = calls.filter(request_id=OuterRef("request_id")).exclude(request_id="")
    by_conversation = (
        calls.filter(conversation_id=OuterRef("conversation_id"))
        .exclude(conversation_id="")
        .filter(Q(timestamp__lte=OuterRef("timestamp")))
        .order_by("-timestamp", "-id")
    )
    return Coalesce(
        Subquery(by_request.exclude(variant=None).values("variant")[:1]),
        Subquery(by_conversation.exclude(variant=None).values("variant")[:1]),
        assignment_variant(flag_key),
        output_field=CharField(),
    )


def attributed(queryset: QuerySet, flag_key: str) -> QuerySet:
    """`queryset` (LlmCall, Feedback or Score rows) annotated `variant` by the rule above."""
    if queryset.model is LlmCall:
        return queryset.annotate(variant=llm_call_variant(flag_key))
    if queryset.model is Feedback or queryset.model is Score:
        return queryset.annotate(variant=feedback_variant(flag_key))
    raise TypeError(f"no attribution rule for {queryset.model.__name__}")
