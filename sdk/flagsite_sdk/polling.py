"""Keeps the client's ruleset current: fetch at start, then poll `GET /api/v1/sdk/ruleset` with
`If-None-Match` from one daemon thread.

Timing: a regular poll waits `interval` shortened by up to `jitter` (so a change is seen within
one interval); while the server's ruleset carries `poll_interval` (a flag is under a rollout
plan, docs/rollouts.md) it waits that long instead when it is shorter, never less than
`MIN_HINTED_INTERVAL`; after a failure (network error, timeout, 5xx, 429, a body that is not a valid
ruleset) it backs off exponentially with jitter, never less than the server's `Retry-After`.
On 401/403 the key is wrong or revoked: retrying cannot help, so the poller logs an error and
stops, and the client keeps serving the last ruleset it had.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .backoff import jittered, parse_retry_after, retry_delay
from .store import Snapshot
from .transport import Transport, TransportError

log = logging.getLogger("flagsite_sdk")

RULESET_PATH = "/api/v1/sdk/ruleset"
# The shortest wait a server's `poll_interval` hint can ask for (seconds).
MIN_HINTED_INTERVAL = 1.0


def poll_hint(data: Mapping[str, Any]) -> float | None:
    """The ruleset's `poll_interval` in seconds (at least MIN_HINTED_INTERVAL), None without a
    usable one: absent, not a number, not positive, not finite."""
    value = data.get("poll_interval")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not (value > 0 and math.isfinite(value)):
        return None
    return max(float(value), MIN_HINTED_INTERVAL)


@dataclass(frozen=True)
class PollResult:
    """The outcome of one poll: `snapshot` set on 200, `not_modified` on 304; otherwise `error`
    says what went wrong, `fatal` when polling must stop."""

    snapshot: Snapshot | None = None
    not_modified: bool = False
    error: str | None = None
    fatal: bool = False
    retry_after: float | None = None


class Poller:
    def __init__(
        self,
        transport: Transport,
        *,
        interval: float,
        jitter: float,
        backoff_max: float,
        on_snapshot: Callable[[Snapshot], bool],
        on_first_failure: Callable[[], None],
    ) -> None:
        self.transport = transport
        self.interval = interval
        self.jitter = jitter
        self.backoff_max = backoff_max
        # Called with every new snapshot; returns False when it does not compile (a failure).
        self._on_snapshot = on_snapshot
        # Called once if the very first fetch fails (the client falls back to its file cache).
        self._on_first_failure = on_first_failure
        self.etag: str | None = None
        # The current ruleset's poll_interval hint (None: poll every `interval`).
        self.hint: float | None = None
        self.failures = 0
        self.polls = 0
        self.updates = 0
        self.not_modified = 0
        self.errors = 0
        self.last_error: str | None = None
        self.stopped_reason: str | None = None
        self.first_attempt_done = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="flagsite-poller", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 0.5) -> None:
        """Stop polling. A request in flight is not interrupted: the (daemon) thread ends when it
        returns, so `close()` never waits longer than `timeout` for it."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def current_interval(self) -> float:
        """The regular wait: `interval`, or the ruleset's hint when that is shorter."""
        return min(self.interval, self.hint) if self.hint is not None else self.interval

    @property
    def running(self) -> bool:
        return self._thread.is_alive() and not self._stop.is_set()

    def poll_once(self) -> PollResult:
        """One conditional GET, classified. Never raises."""
        headers = {"If-None-Match": self.etag} if self.etag else None
        try:
            resp = self.transport.request("GET", RULESET_PATH, headers=headers)
        except TransportError as exc:
            return PollResult(error=str(exc))
        if resp.status == 304:
            return PollResult(not_modified=True)
        if resp.status == 200:
            try:
                data = resp.json()
            except ValueError as exc:
                return PollResult(error=f"the ruleset is not valid JSON: {exc}")
            if not isinstance(data, dict) or not isinstance(data.get("flags"), dict):
                return PollResult(error="the ruleset is not an object with 'flags'")
            return PollResult(snapshot=Snapshot(data, resp.header("ETag"), time.time()))
        retry_after = parse_retry_after(resp.header("Retry-After"))
        if resp.status in (401, 403):
            return PollResult(error=f"HTTP {resp.status}", fatal=True)
        return PollResult(error=f"HTTP {resp.status}", retry_after=retry_after)

    def _run(self) -> None:
        while not self._stop.is_set():
            result = self.poll_once()
            self.polls += 1
            if result.snapshot is not None:
                if self._on_snapshot(result.snapshot):
                    self.etag = result.snapshot.etag
                    self.hint = poll_hint(result.snapshot.data)
                    self.updates += 1
                else:
                    result = PollResult(error="the ruleset does not compile")
            elif result.not_modified:
                self.not_modified += 1
            delay = self._after(result)
            if not self.first_attempt_done.is_set():
                if result.error is not None:
                    self._on_first_failure()
                self.first_attempt_done.set()
            if delay is None:
                return
            self._stop.wait(delay)

    def _after(self, result: PollResult) -> float | None:
        """Book-keeping after a poll; the wait before the next one, None to stop polling."""
        if result.error is None:
            if self.failures:
                log.info("flagsite: ruleset polling recovered after %d failures", self.failures)
            self.failures = 0
            return jittered(self.current_interval, self.jitter)
        self.errors += 1
        self.failures += 1
        self.last_error = result.error
        if result.fatal:
            self.stopped_reason = result.error
            self._stop.set()
            log.error(
                "flagsite: the server refused the SDK key (%s); polling stopped, the last known "
                "flag values keep being served. Check the server key.",
                result.error,
            )
            return None
        delay = retry_delay(self.failures, self.interval, self.backoff_max, result.retry_after)
        log.log(
            logging.WARNING if self.failures == 1 else logging.DEBUG,
            "flagsite: could not refresh the ruleset (%s); retrying in %.1fs",
            result.error,
            delay,
        )
        return delay
