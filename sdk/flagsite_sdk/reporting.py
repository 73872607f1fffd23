"""What the application reports through the client: LLM calls, implicit signals and feedback
(docs/events.md). Each call builds the event (with its id and timestamp) and queues it; the
client's sender thread delivers it. Nothing here blocks or raises."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from .events import EVENTS_PATH, FEEDBACK_PATH, new_id, rfc3339


class Reporting:
    """Mixed into Client, which provides `_enqueue`."""

    def _enqueue(self, path: str, payload: dict[str, Any]) -> None:
        raise NotImplementedError

    # -- events ----------------------------------------------------------------------------------

    def track_llm_call(
        self,
        *,
        model: str,
        user_key: str | None = None,
        request_id: str | None = None,
        conversation_id: str | None = None,
        user_tier: str | None = None,
        feature: str | None = None,
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
        cached_input_tokens: int | None = None,
        prompt_hash: str | None = None,
        ttft_ms: float | None = None,
        latency_ms: float | None = None,
        error: bool | None = None,
        error_type: str | None = None,
        hallucination: bool | None = None,
        safety_violation: bool | None = None,
        flags: Mapping[str, str] | None = None,
        timestamp: float | None = None,
        id: str | None = None,
    ) -> str:
        """Report one LLM call (docs/events.md `llm_call`); `flags` maps flag keys to the
        variants that served it. `cached_input_tokens` is the part of `prompt_tokens` the
        provider served from its prompt cache; `prompt_hash` identifies identical prompts (see
        `prompt_hash()`). Returns the event id. Never blocks, never raises."""
        return self._event(
            "llm_call",
            id,
            timestamp,
            model=model,
            user_key=user_key,
            request_id=request_id,
            conversation_id=conversation_id,
            user_tier=user_tier,
            feature=feature,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cached_input_tokens=cached_input_tokens,
            prompt_hash=prompt_hash,
            ttft_ms=ttft_ms,
            latency_ms=latency_ms,
            error=error,
            error_type=error_type,
            hallucination=hallucination,
            safety_violation=safety_violation,
            flags=dict(flags) if flags is not None else None,
        )

    def track_implicit(
        self,
        *,
        conversation_id: str,
        signal: str,
        value: float | None = None,
        user_key: str | None = None,
        timestamp: float | None = None,
        id: str | None = None,
    ) -> str:
        """An implicit signal: `regenerated`, `follow_up`, `session_duration` (value: seconds),
        `copied` or `task_completed`. Returns the event id."""
        return self._event(
            "implicit",
            id,
            timestamp,
            conversation_id=conversation_id,
            signal=signal,
            value=value,
            user_key=user_key,
        )

    def track_score(
        self,
        *,
        name: str,
        value: float,
        source: str = "heuristic",
        request_id: str | None = None,
        conversation_id: str | None = None,
        user_key: str | None = None,
        timestamp: float | None = None,
        id: str | None = None,
    ) -> str:
        """A score from automated (or human) evaluation of a response: `name` (e.g.
        `hallucination`, `safety_violation`, `relevance`), a numeric `value` (0/1 for a
        judgement), `source` (`llm-judge`, `heuristic`, `human`). Returns the event id."""
        return self._event(
            "score",
            id,
            timestamp,
            name=name,
            value=value,
            source=source,
            request_id=request_id,
            conversation_id=conversation_id,
            user_key=user_key,
        )

    def feedback(
        self,
        *,
        type: str,
        conversation_id: str | None = None,
        request_id: str | None = None,
        user_key: str | None = None,
        rating: int | None = None,
        comment: str | None = None,
        category: str | None = None,
        timestamp: float | None = None,
        id: str | None = None,
    ) -> str:
        """Explicit feedback (`type` thumbs_up | thumbs_down), sent to /api/v1/feedback.
        Returns the feedback id."""
        payload = _compact(
            id=id or new_id(),
            type=type,
            conversation_id=conversation_id,
            request_id=request_id,
            user_key=user_key,
            rating=rating,
            comment=comment,
            category=category,
            timestamp=_stamp(timestamp),
        )
        self._enqueue(FEEDBACK_PATH, payload)
        return str(payload["id"])

    def _event(self, kind: str, id: str | None, timestamp: float | None, **fields: Any) -> str:
        payload = _compact(
            id=id or new_id(),
            type=kind,
            timestamp=_stamp(timestamp),
            **fields,
        )
        self._enqueue(EVENTS_PATH, payload)
        return str(payload["id"])


def _stamp(timestamp: float | None) -> str:
    return rfc3339(timestamp if timestamp is not None else time.time())


def _compact(**fields: Any) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None}
