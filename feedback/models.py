"""What applications report back: explicit feedback, LLM calls (with cost), exposures, implicit
signals, scores; and the model prices that turn tokens into money.

Event tables are append-only and written in bulk by `feedback.ingest`. Each row keeps the
client-generated `event_id`, unique per environment, which is what makes retries idempotent.
Indexes serve the queries experiments,
rollouts and cost reports make (by environment and time, flag/variant, conversation, request).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q

from flags.models import Environment

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


class Category(models.TextChoices):
    HALLUCINATION = "hallucination", "Hallucination"
    IRRELEVANT = "irrelevant", "Irrelevant"
    FORMATTING = "formatting", "Formatting"
    SAFETY = "safety", "Safety"
    OTHER = "other", "Other"


class FeedbackType(models.TextChoices):
    THUMBS_UP = "thumbs_up", "Thumbs up"
    THUMBS_DOWN = "thumbs_down", "Thumbs down"


class Signal(models.TextChoices):
    REGENERATED = "regenerated", "Regenerated"
    FOLLOW_UP = "follow_up", "Follow-up question"
    SESSION_DURATION = "session_duration", "Session duration"
    COPIED = "copied", "Copied"
    TASK_COMPLETED = "task_completed", "Task completed"


class _Event(models.Model):
    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="+")
    event_id = models.CharField(max_length=128)
    timestamp = models.DateTimeField()
    received_at = models.DateTimeField()

    class Meta:
        abstract = True


def _unique_event(name: str) -> models.UniqueConstraint:
    return models.UniqueConstraint(fields=["environment", "event_id"], name=name)


class _Replaced(TypedDict):
    replaced: bool


class FeedbackQuerySet(models.QuerySet["Feedback"]):
    def superseded(self) -> Exists:
        """True for a vote that the same user replaced later on the same response.

        A response is (environment, conversation_id, request_id) with at least one of the two
        ids set; a user is a non-empty user_key. Anonymous votes, and votes about no response,
        cannot be told apart from other people's, so each of them counts. "Later" is by
        timestamp, then by row id (two votes in the same instant: the one stored last).
        """
        later = (
            Feedback.objects.filter(
                environment_id=OuterRef("environment_id"),
                conversation_id=OuterRef("conversation_id"),
                request_id=OuterRef("request_id"),
                user_key=OuterRef("user_key"),
            )
            .exclude(user_key="")
            .filter(~Q(request_id="") | ~Q(conversation_id=""))
            .filter(
                Q(timestamp__gt=OuterRef("timestamp"))
                | Q(timestamp=OuterRef("timestamp"), pk__gt=OuterRef("pk"))
            )
        )
        return Exists(later)

    def current(self) -> FeedbackQuerySet:
        """The votes that count: the latest one per (response, user). Earlier votes stay in the
        table as history. Every count, chart and experiment metric reads feedback through
        this, so a changed vote is never counted twice."""
        return self.filter(~self.superseded())

    def with_replaced(self) -> models.QuerySet[WithAnnotations[Feedback, _Replaced], Any]:
        """Every vote, each annotated `replaced` (True when a later vote supersedes it)."""
        return self.annotate(replaced=self.superseded())


class Feedback(_Event):
    type = models.CharField(max_length=16, choices=FeedbackType.choices)
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    comment = models.TextField(blank=True)
    # What the user picked; `triage_category` is what a person decided in the inbox.
    category = models.CharField(max_length=16, choices=Category.choices, blank=True)
    triage_category = models.CharField(max_length=16, choices=Category.choices, blank=True)
    conversation_id = models.CharField(max_length=128, blank=True)
    request_id = models.CharField(max_length=128, blank=True)
    user_key = models.CharField(max_length=256, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = FeedbackQuerySet.as_manager()

    class Meta:
        ordering = ["-timestamp", "-id"]
        constraints = [_unique_event("feedback_unique_event")]
        indexes = [
            models.Index(fields=["environment", "timestamp"], name="feedback_env_time"),
            models.Index(fields=["environment", "conversation_id"], name="feedback_env_conv"),
            # Metrics that read a vote on a call's request (hallucination, safety categories).
            models.Index(fields=["environment", "request_id"], name="feedback_env_request"),
            # FeedbackQuerySet.current(): "is there a later vote by this user on this response?"
            models.Index(
                fields=["environment", "user_key", "request_id", "conversation_id", "timestamp"],
                name="feedback_vote",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"

    @property
    def effective_category(self) -> str:
        return self.triage_category or self.category


class LlmCall(_Event):
    request_id = models.CharField(max_length=128, blank=True)
    conversation_id = models.CharField(max_length=128, blank=True)
    user_key = models.CharField(max_length=256, blank=True)
    user_tier = models.CharField(max_length=64, blank=True)
    feature = models.CharField(max_length=128, blank=True)
    model = models.CharField(max_length=128)
    prompt_tokens = models.BigIntegerField(default=0)
    completion_tokens = models.BigIntegerField(default=0)
    # The part of prompt_tokens served from the provider's prompt cache (billed at the cached
    # input price); never more than prompt_tokens.
    cached_input_tokens = models.BigIntegerField(default=0)
    # Optional hash of the prompt the SDK sent (docs/events.md): identical prompts share it, so
    # the cost page can say what a response cache would have saved.
    prompt_hash = models.CharField(max_length=128, blank=True)
    ttft_ms = models.FloatField(null=True, blank=True)
    latency_ms = models.FloatField(null=True, blank=True)
    error = models.BooleanField(default=False)
    error_type = models.CharField(max_length=128, blank=True)
    hallucination = models.BooleanField(null=True, blank=True)
    safety_violation = models.BooleanField(null=True, blank=True)
    # {flag key: variant key} that served this call.
    flags = models.JSONField(default=dict, blank=True)
    # Computed at ingestion from the ModelPrice in force at `timestamp`; null when unpriced.
    cost_usd = models.DecimalField(max_digits=20, decimal_places=10, null=True, blank=True)

    class Meta:
        constraints = [_unique_event("llmcall_unique_event")]
        indexes = [
            models.Index(fields=["environment", "timestamp"], name="llmcall_env_time"),
            models.Index(fields=["environment", "request_id"], name="llmcall_env_request"),
            # A conversation's calls in time order (timestamp, then id), so the first call of
            # every conversation (experiments/event_rows.py `_first`, DISTINCT ON) is read in
            # order by an index-only scan instead of sorting every call; also serves lookups
            # by (environment, conversation) as the two-column index it replaces did.
            models.Index(
                fields=["environment", "conversation_id", "timestamp", "id"],
                name="llmcall_env_conv_time",
            ),
            # costs: spend over all environments in a period (the page's default, budgets
            # without an environment)
            models.Index(fields=["timestamp"], name="llmcall_time"),
            # costs.hints: repeated prompts (GROUP BY prompt_hash), only rows that carry one
            models.Index(
                fields=["environment", "prompt_hash", "timestamp"],
                name="llmcall_env_prompt",
                condition=~Q(prompt_hash=""),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.model} {self.event_id}"


class Exposure(_Event):
    flag_key = models.CharField(max_length=128)
    variant_key = models.CharField(max_length=128)
    user_key = models.CharField(max_length=256)
    experiment_key = models.CharField(max_length=128, blank=True)

    class Meta:
        constraints = [_unique_event("exposure_unique_event")]
        indexes = [
            models.Index(
                fields=["environment", "flag_key", "variant_key", "timestamp"],
                name="exposure_env_flag_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.flag_key}={self.variant_key} {self.user_key}"


class ImplicitSignal(_Event):
    conversation_id = models.CharField(max_length=128)
    user_key = models.CharField(max_length=256, blank=True)
    signal = models.CharField(max_length=32, choices=Signal.choices)
    value = models.FloatField(default=1.0)

    class Meta:
        constraints = [_unique_event("implicit_unique_event")]
        indexes = [
            models.Index(fields=["environment", "timestamp"], name="implicit_env_time"),
            models.Index(fields=["environment", "conversation_id"], name="implicit_env_conv"),
        ]

    def __str__(self) -> str:
        return f"{self.signal} {self.conversation_id}"


class ScoreSource(models.TextChoices):
    LLM_JUDGE = "llm-judge", "LLM judge"
    HEURISTIC = "heuristic", "Heuristic"
    HUMAN = "human", "Human"


class Score(_Event):
    """A score from automated (or human) evaluation of a response: hallucination, safety,
    relevance ... judged by a model or a rule. Metrics read it like any other signal."""

    name = models.CharField(max_length=64)
    value = models.FloatField()
    source = models.CharField(max_length=16, choices=ScoreSource.choices)
    request_id = models.CharField(max_length=128, blank=True)
    conversation_id = models.CharField(max_length=128, blank=True)
    user_key = models.CharField(max_length=256, blank=True)

    class Meta:
        constraints = [_unique_event("score_unique_event")]
        indexes = [
            models.Index(fields=["environment", "name", "timestamp"], name="score_env_name_time"),
            models.Index(fields=["environment", "request_id"], name="score_env_request"),
        ]

    def __str__(self) -> str:
        return f"{self.name}={self.value} {self.event_id}"


class ModelPrice(models.Model):
    """A model's price from `effective_from` until the next row for the same model."""

    model = models.CharField(max_length=128)
    input_per_million = models.DecimalField(
        max_digits=12, decimal_places=4, help_text="USD per million prompt tokens"
    )
    output_per_million = models.DecimalField(
        max_digits=12, decimal_places=4, help_text="USD per million completion tokens"
    )
    cached_input_per_million = models.DecimalField(
        max_digits=12,
        decimal_places=4,
        null=True,
        blank=True,
        help_text="USD per million cached prompt tokens; empty: the input price",
    )
    effective_from = models.DateTimeField()
    # Seeded by the demo loader: published list prices at some date, shown as examples.
    is_example = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["model", "-effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["model", "effective_from"], name="modelprice_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.model} from {self.effective_from:%Y-%m-%d}"
