"""`Client.stats`: one snapshot of what the client is doing, for dashboards, logs and tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .client import Client


@dataclass(frozen=True)
class ClientStats:
    ready: bool
    ruleset_source: str | None  # "server", "cache", "bootstrap" or None
    ruleset_version: Any
    ruleset_environment: str | None
    ruleset_updated_at: float | None  # epoch seconds
    polling: bool  # the poller thread is running
    polls: int
    poll_updates: int
    poll_not_modified: int
    poll_errors: int
    poll_failures_in_a_row: int
    poll_stopped_reason: str | None  # set when 401/403 stopped polling
    last_poll_error: str | None
    events_queued: int  # ever accepted into the queue
    events_in_queue: int
    events_dropped: int  # pushed out of a full queue (oldest first)
    events_sent: int  # acknowledged by the server (stored or duplicate)
    events_rejected: int  # refused by the server as invalid
    events_discarded: int  # not sent: events disabled, key refused, or unsent at close
    event_send_errors: int
    last_event_error: str | None
    exposures_deduplicated: int
    evaluation_errors: int

    @classmethod
    def collect(cls, client: Client) -> ClientStats:
        ruleset = client._ruleset
        poller = client._poller
        buffer = client._buffer
        sender = client._sender
        return cls(
            ready=ruleset is not None,
            ruleset_source=client._source,
            ruleset_version=ruleset.version if ruleset is not None else None,
            ruleset_environment=ruleset.environment if ruleset is not None else None,
            ruleset_updated_at=client._updated_at,
            polling=poller.running if poller is not None else False,
            polls=poller.polls if poller is not None else 0,
            poll_updates=poller.updates if poller is not None else 0,
            poll_not_modified=poller.not_modified if poller is not None else 0,
            poll_errors=poller.errors if poller is not None else 0,
            poll_failures_in_a_row=poller.failures if poller is not None else 0,
            poll_stopped_reason=poller.stopped_reason if poller is not None else None,
            last_poll_error=poller.last_error if poller is not None else None,
            events_queued=buffer.queued if buffer is not None else 0,
            events_in_queue=len(buffer) if buffer is not None else 0,
            events_dropped=buffer.dropped if buffer is not None else 0,
            events_sent=sender.sent if sender is not None else 0,
            events_rejected=sender.rejected if sender is not None else 0,
            events_discarded=client._events_discarded
            + (sender.discarded if sender is not None else 0),
            event_send_errors=sender.send_errors if sender is not None else 0,
            last_event_error=sender.last_error if sender is not None else None,
            exposures_deduplicated=buffer.deduplicated if buffer is not None else 0,
            evaluation_errors=client.evaluation_errors,
        )
