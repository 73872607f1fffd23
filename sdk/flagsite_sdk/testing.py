"""Helpers for the application's own tests: a client with fixed flag values that makes no
network calls and keeps the events the code under test reports, so tests can assert on them.

    from flagsite_sdk.testing import TestClient

    flags = TestClient({"llm-model": "gpt-4-turbo", "new-rag-pipeline": True})
    app = make_app(flags)
    ...
    assert flags.events_of("llm_call")[0]["model"] == "gpt-4-turbo"

A real ruleset can be used too (`TestClient(ruleset=json.load(open("ruleset.json")))`), with
fixed values layered on top; `client.override(flag, value)` works on every Client.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .client import Client
from .events import EventBuffer, _Outgoing, exposure_event

EMPTY_RULESET: dict[str, Any] = {"schema": 1, "flags": {}, "segments": {}}


class TestClient(Client):
    """An offline Client: `flags` are served to everyone (reason STATIC), other flags come
    from `ruleset` (if given); exposures, LLM calls, signals and feedback are kept in
    `events` instead of being sent."""

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        flags: Mapping[str, Any] | None = None,
        *,
        ruleset: Mapping[str, Any] | None = None,
        record_exposures: bool = True,
    ) -> None:
        super().__init__(offline=True, bootstrap=ruleset if ruleset is not None else EMPTY_RULESET)
        self._buffer = EventBuffer(capacity=1_000_000, dedup_size=1_000_000)
        self._exposures = self._buffer if record_exposures else None
        self._kept: list[dict[str, Any]] = []
        for key, value in (flags or {}).items():
            self.set_override(key, value)

    @property
    def events(self) -> list[dict[str, Any]]:
        """Everything reported so far, in order, in wire format (docs/events.md); feedback has
        `"type": "thumbs_up"/"thumbs_down"`."""
        assert self._buffer is not None
        for item in self._buffer.take(len(self._buffer)):
            self._kept.append(item.payload if isinstance(item, _Outgoing) else exposure_event(item))
        return list(self._kept)

    def events_of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("type") == kind]

    def clear_events(self) -> None:
        _ = self.events
        self._kept.clear()
        if self._buffer is not None:
            self._buffer.forget_exposures()
