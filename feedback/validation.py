"""Checking incoming events (docs/events.md) field by field, by hand: a serializer per event would
cost more than the database insert at 1,000 events a request. Every error names its field.

`event_clean(raw, now)` returns (model, fields) or raises `Invalid({field: message})`.
Unknown fields are ignored.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta
from typing import Any

from django.db import models

from flagsite.storable import text_unstorable

from .models import (
    Category,
    Exposure,
    FeedbackType,
    ImplicitSignal,
    LlmCall,
    Score,
    ScoreSource,
    Signal,
)

MAX_AGE = timedelta(days=7)
MAX_FUTURE = timedelta(minutes=5)
MAX_COMMENT = 5_000
MAX_FLAGS = 100
# Token counts go into 64-bit columns; anything near that is a bug in the sender.
MAX_TOKENS = 10**12
TOKEN_RE = re.compile(r"[A-Za-z0-9_.:+/=-]+")

EVENT_TYPES = ("exposure", "llm_call", "implicit", "score")
SCORE_SOURCES = tuple(ScoreSource.values)
CATEGORIES = tuple(Category.values)
FEEDBACK_TYPES = tuple(FeedbackType.values)
SIGNALS = tuple(Signal.values)


class Invalid(Exception):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


def _choices(values: tuple[str, ...]) -> str:
    return "must be one of " + ", ".join(values)


class _Reader:
    """Reads fields of one raw event, collecting every error instead of stopping at the first."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self.errors: dict[str, str] = {}

    def text(self, name: str, *, required: bool = False, max_length: int = 128) -> str:
        value = self.raw.get(name)
        if value is None:
            if required:
                self.errors[name] = "is required"
            return ""
        if not isinstance(value, str):
            self.errors[name] = "must be a string"
            return ""
        problem = text_unstorable(value)
        if problem:
            self.errors[name] = problem
        elif required and not value:
            self.errors[name] = "must not be empty"
        elif len(value) > max_length:
            self.errors[name] = f"must be at most {max_length} characters"
        return value

    def token(self, name: str, *, max_length: int = 128) -> str:
        """An opaque identifier such as a hash: 1-`max_length` of A-Z a-z 0-9 and `_-.:+/=`."""
        value = self.raw.get(name)
        if value is None:
            return ""
        if not isinstance(value, str) or not TOKEN_RE.fullmatch(value) or len(value) > max_length:
            self.errors[name] = (
                f"must be 1-{max_length} characters of letters, digits and _-.:+/= "
                "(e.g. a hex SHA-256)"
            )
            return ""
        return value

    def choice(self, name: str, values: tuple[str, ...], *, required: bool = False) -> str:
        value = self.raw.get(name)
        if value is None:
            if required:
                self.errors[name] = "is required"
            return ""
        if value not in values:  # also catches non-strings
            self.errors[name] = _choices(values)
            return ""
        return str(value)

    def count(self, name: str) -> int:
        value = self.raw.get(name)
        if value is None:
            return 0
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_TOKENS:
            self.errors[name] = "must be an integer >= 0"
            return 0
        return value

    def number(self, name: str, *, default: float | None = None) -> float | None:
        value = self.raw.get(name)
        if value is None:
            return default
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or value < 0
        ):
            self.errors[name] = "must be a number >= 0"
            return default
        return float(value)

    def flag(self, name: str, *, default: bool | None = None) -> bool | None:
        value = self.raw.get(name)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.errors[name] = "must be true or false"
            return default
        return value

    def flag_map(self, name: str) -> dict[str, str]:
        value = self.raw.get(name)
        if value is None:
            return {}
        if (
            not isinstance(value, dict)
            or len(value) > MAX_FLAGS
            or not all(
                isinstance(k, str)
                and 0 < len(k) <= 128
                and isinstance(v, str)
                and len(v) <= 128
                and text_unstorable(k) is None
                and text_unstorable(v) is None
                for k, v in value.items()
            )
        ):
            self.errors[name] = (
                f"must be an object of at most {MAX_FLAGS} flag keys to variant keys (strings)"
            )
            return {}
        return value

    def timestamp(self, now: datetime) -> datetime:
        value = self.raw.get("timestamp")
        if value is None:
            return now
        if not isinstance(value, str):
            self.errors["timestamp"] = "must be an RFC 3339 string"
            return now
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            self.errors["timestamp"] = "must be an RFC 3339 string"
            return now
        if when.tzinfo is None:
            self.errors["timestamp"] = "must include a time zone (Z or +hh:mm)"
        elif when < now - MAX_AGE:
            self.errors["timestamp"] = "must be at most 7 days old"
        elif when > now + MAX_FUTURE:
            self.errors["timestamp"] = "must be at most 5 minutes in the future"
        else:
            return when
        return now


def _common(r: _Reader, now: datetime) -> dict[str, Any]:
    return {"event_id": r.text("id", required=True), "timestamp": r.timestamp(now)}


def _exposure(r: _Reader) -> dict[str, Any]:
    return {
        "flag_key": r.text("flag", required=True, max_length=128),
        "variant_key": r.text("variant", required=True),
        "user_key": r.text("user_key", required=True, max_length=256),
        "experiment_key": r.text("experiment"),
    }


def _llm_call(r: _Reader) -> dict[str, Any]:
    prompt_tokens = r.count("prompt_tokens")
    cached = r.count("cached_input_tokens")
    if cached > prompt_tokens and "prompt_tokens" not in r.errors:
        r.errors["cached_input_tokens"] = (
            "must not exceed prompt_tokens (cached tokens are part of them)"
        )
    return {
        "request_id": r.text("request_id"),
        "conversation_id": r.text("conversation_id"),
        "user_key": r.text("user_key", max_length=256),
        "user_tier": r.text("user_tier", max_length=64),
        "feature": r.text("feature"),
        "model": r.text("model", required=True).strip(),
        "prompt_tokens": prompt_tokens,
        "completion_tokens": r.count("completion_tokens"),
        "cached_input_tokens": cached,
        "prompt_hash": r.token("prompt_hash"),
        "ttft_ms": r.number("ttft_ms"),
        "latency_ms": r.number("latency_ms"),
        "error": r.flag("error", default=False),
        "error_type": r.text("error_type"),
        "hallucination": r.flag("hallucination"),
        "safety_violation": r.flag("safety_violation"),
        "flags": r.flag_map("flags"),
    }


def _implicit(r: _Reader) -> dict[str, Any]:
    return {
        "conversation_id": r.text("conversation_id", required=True),
        "user_key": r.text("user_key", max_length=256),
        "signal": r.choice("signal", SIGNALS, required=True),
        "value": r.number("value", default=1.0),
    }


def _score(r: _Reader) -> dict[str, Any]:
    value = r.number("value")
    if value is None and "value" not in r.errors:
        r.errors["value"] = "is required"
    return {
        "name": r.text("name", required=True, max_length=64),
        "value": value,
        "source": r.choice("source", SCORE_SOURCES, required=True),
        "request_id": r.text("request_id"),
        "conversation_id": r.text("conversation_id"),
        "user_key": r.text("user_key", max_length=256),
    }


_TYPES: dict[str, tuple[type[models.Model], Any]] = {
    "exposure": (Exposure, _exposure),
    "llm_call": (LlmCall, _llm_call),
    "implicit": (ImplicitSignal, _implicit),
    "score": (Score, _score),
}


def event_clean(raw: Any, now: datetime) -> tuple[type[models.Model], dict[str, Any]]:
    """One event of POST /api/v1/events -> (model class, field values)."""
    if not isinstance(raw, dict):
        raise Invalid({"event": "must be an object"})
    r = _Reader(raw)
    kind = r.choice("type", EVENT_TYPES, required=True)
    fields = _common(r, now)
    model: type[models.Model] | None = None
    if kind:
        model, read = _TYPES[kind]
        fields.update(read(r))
    if r.errors or model is None:
        raise Invalid(r.errors)
    return model, fields


def feedback_clean(raw: Any, now: datetime) -> dict[str, Any]:
    """The body of POST /api/v1/feedback -> Feedback field values."""
    if not isinstance(raw, dict):
        raise Invalid({"body": "must be a JSON object"})
    r = _Reader(raw)
    fields = _common(r, now)
    fields.update(
        type=r.choice("type", FEEDBACK_TYPES, required=True),
        conversation_id=r.text("conversation_id"),
        request_id=r.text("request_id"),
        user_key=r.text("user_key", max_length=256),
        comment=r.text("comment", max_length=MAX_COMMENT),
        category=r.choice("category", CATEGORIES),
    )
    rating = raw.get("rating")
    if rating is not None and (isinstance(rating, bool) or not isinstance(rating, int)):
        r.errors["rating"] = "must be an integer between 1 and 5"
    elif rating is not None and not 1 <= rating <= 5:
        r.errors["rating"] = "must be between 1 and 5"
    else:
        fields["rating"] = rating
    if r.errors:
        raise Invalid(r.errors)
    return fields
