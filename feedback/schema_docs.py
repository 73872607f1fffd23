"""OpenAPI descriptions of POST /api/v1/events: each event type's fields (docs/events.md).

Like `delivery.schema_docs`, these serializers only describe the wire format for /api/schema/;
`feedback.validation` parses it by hand (a serializer per event costs more than the insert).
The limits written here are validation's own constants, so the two cannot drift apart silently.
"""

from __future__ import annotations

from drf_spectacular.utils import PolymorphicProxySerializer, inline_serializer
from rest_framework import serializers

from .validation import MAX_FLAGS, MAX_TOKENS, SCORE_SOURCES, SIGNALS


def _type(value: str) -> serializers.ChoiceField:
    return serializers.ChoiceField(choices=[value], help_text=f'Always "{value}".')


class _EventBase(serializers.Serializer):
    id = serializers.CharField(
        max_length=128,
        help_text="Client-generated, unique per environment: a retried event is stored once.",
    )
    timestamp = serializers.DateTimeField(
        required=False,
        help_text="RFC 3339 with a time zone; at most 7 days old and 5 minutes ahead. "
        "Default: when the server receives it.",
    )


class ExposureEventSerializer(_EventBase):
    type = _type("exposure")
    flag = serializers.CharField(max_length=128, help_text="The flag key.")
    variant = serializers.CharField(max_length=128, help_text="The variant key served.")
    user_key = serializers.CharField(max_length=256, help_text="The targeting key.")
    experiment = serializers.CharField(max_length=128, required=False, allow_blank=True)


def _tokens(help_text: str) -> serializers.IntegerField:
    return serializers.IntegerField(
        min_value=0, max_value=MAX_TOKENS, required=False, help_text=help_text
    )


def _ms(help_text: str) -> serializers.FloatField:
    return serializers.FloatField(min_value=0, required=False, help_text=help_text)


class LlmCallEventSerializer(_EventBase):
    type = _type("llm_call")
    model = serializers.CharField(max_length=128, help_text="Priced by the model price table.")
    request_id = serializers.CharField(max_length=128, required=False, allow_blank=True)
    conversation_id = serializers.CharField(max_length=128, required=False, allow_blank=True)
    user_key = serializers.CharField(max_length=256, required=False, allow_blank=True)
    user_tier = serializers.CharField(max_length=64, required=False, allow_blank=True)
    feature = serializers.CharField(max_length=128, required=False, allow_blank=True)
    prompt_tokens = _tokens("Input tokens, cached ones included. Default 0.")
    completion_tokens = _tokens("Output tokens. Default 0.")
    cached_input_tokens = _tokens(
        "The part of prompt_tokens served from the provider's prompt cache (billed at the "
        "cached input price); at most prompt_tokens. Default 0."
    )
    prompt_hash = serializers.RegexField(
        r"^[A-Za-z0-9_.:+/=-]{1,128}$",
        required=False,
        help_text="A hash of the prompt (e.g. hex SHA-256): identical prompts share it, so the "
        "cost page can say what a response cache would have saved.",
    )
    ttft_ms = _ms("Time to first token.")
    latency_ms = _ms("Total latency.")
    error = serializers.BooleanField(required=False, help_text="Default false.")
    error_type = serializers.CharField(max_length=128, required=False, allow_blank=True)
    hallucination = serializers.BooleanField(required=False, allow_null=True)
    safety_violation = serializers.BooleanField(required=False, allow_null=True)
    flags = serializers.DictField(
        child=serializers.CharField(max_length=128, allow_blank=True),
        required=False,
        help_text=f"{{flag key: variant key}} that served this call (at most {MAX_FLAGS}).",
    )


class ImplicitEventSerializer(_EventBase):
    type = _type("implicit")
    conversation_id = serializers.CharField(max_length=128)
    user_key = serializers.CharField(max_length=256, required=False, allow_blank=True)
    signal = serializers.ChoiceField(choices=list(SIGNALS))
    value = serializers.FloatField(min_value=0, required=False, help_text="Default 1.")


class ScoreEventSerializer(_EventBase):
    type = _type("score")
    name = serializers.CharField(
        max_length=64, help_text="What was judged, e.g. hallucination, safety_violation, relevance."
    )
    value = serializers.FloatField(min_value=0, help_text="The score; 0 or 1 for a judgement.")
    source = serializers.ChoiceField(choices=list(SCORE_SOURCES))  # type: ignore[assignment]  # a field, popped by the metaclass
    request_id = serializers.CharField(max_length=128, required=False, allow_blank=True)
    conversation_id = serializers.CharField(max_length=128, required=False, allow_blank=True)
    user_key = serializers.CharField(max_length=256, required=False, allow_blank=True)


EVENT = PolymorphicProxySerializer(
    component_name="Event",
    serializers={
        "exposure": ExposureEventSerializer,
        "llm_call": LlmCallEventSerializer,
        "implicit": ImplicitEventSerializer,
        "score": ScoreEventSerializer,
    },
    resource_type_field_name="type",
    many=True,
)

EVENTS_REQUEST = inline_serializer("EventsBatch", {"events": EVENT})
