"""Events the application reports: exposures (recorded by every evaluation), LLM calls, implicit
signals and feedback. A bounded in-memory queue and one background sender.

The evaluation path only appends a tuple to a deque under a short lock (O(1), no I/O); ids,
timestamps and JSON are made on the sender thread. An event gets its uuid4 id once, before its
first send, and keeps it through every retry, so the server stores it exactly once however many
times an outage makes the SDK resend it (docs/events.md).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .backoff import parse_retry_after, retry_delay
from .transport import Transport, TransportError

log = logging.getLogger("flagsite_sdk")

EVENTS_PATH = "/api/v1/events"
FEEDBACK_PATH = "/api/v1/feedback"
MAX_BATCH = 1000  # the server's limit per request
MAX_BODY = 1_000_000  # stay under the server's 1 MiB limit
_now = time.time

# A queued exposure: (flag, variant, user key, epoch seconds, experiment key or ''). Anything else
# is an _Outgoing.
Exposure = tuple[str, str, Any, float, str]


@dataclass(frozen=True)
class _Outgoing:
    path: str  # EVENTS_PATH or FEEDBACK_PATH
    payload: dict[str, Any]  # already has its id and timestamp


def new_id() -> str:
    return str(uuid.uuid4())


def prompt_hash(prompt: Any) -> str:
    """The `prompt_hash` of an llm_call: hex SHA-256 of the prompt. A string is hashed as UTF-8;
    anything else (a list of chat messages, say) as canonical JSON (sorted keys, no spaces),
    so the same prompt always gets the same hash in every process. Send only what identifies
    the request to the model (system prompt, messages, model settings): two calls with the same
    hash are ones a response cache could have answered with one."""
    if isinstance(prompt, str):
        data = prompt.encode("utf-8", "surrogatepass")
    else:
        data = json.dumps(prompt, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(data).hexdigest()


def rfc3339(epoch: float) -> str:
    return (
        datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def exposure_event(item: Exposure) -> dict[str, Any]:
    flag, variant, user, at, experiment = item
    event = {
        "id": new_id(),
        "type": "exposure",
        "flag": flag,
        "variant": variant,
        "user_key": user if isinstance(user, str) else json.dumps(user),
        "timestamp": rfc3339(at),
    }
    if experiment:  # served by an experiment's rule: the unit is in that experiment
        event["experiment"] = experiment
    return event


class EventBuffer:
    """The bounded queue between the application threads and the sender, with the exposure
    de-duplication memory and the counters behind `Client.stats`.

    De-duplication remembers at most `dedup_size` (user, flag, variant) triples, least recently
    seen forgotten first, in two generations: new and re-seen triples go into the recent one;
    when it holds half of `dedup_size` it becomes the older one and the previous older one is
    forgotten. So a triple seen within the last `dedup_size / 2` new triples is always
    remembered, and none is remembered beyond `dedup_size`: an LRU, approximated so that the
    common case, a repeat, costs one dict look-up.
    """

    def __init__(self, *, capacity: int = 10_000, dedup_size: int = 50_000) -> None:
        self._queue: deque[Exposure | _Outgoing] = deque(maxlen=max(1, capacity))
        # The de-duplication memory: an LRU approximated with two generations of plain dicts
        # (a dict look-up is cheaper than maintaining an exact LRU order on every hit).
        self._generation = max(1, dedup_size // 2)
        self._recent: dict[tuple[Any, str, str], None] = {}
        self._older: dict[tuple[Any, str, str], None] = {}
        self._capacity = self._queue.maxlen
        self._lock = threading.Lock()
        self.on_batch_ready: Callable[[], None] | None = None
        self._batch_size = 500
        # Counters (read through Client.stats).
        self.queued = 0
        self.dropped = 0
        self.deduplicated = 0

    def expose(self, flag: str, variant: str, user: Any, experiment: str = "") -> None:
        """Record that `user` was served `variant` of `flag` (by `experiment`'s rule, if
        given), unless that triple was recorded recently (see the class docstring).

        On the evaluation path: the common case (seen recently) is one dict look-up and no
        lock; a new triple takes the lock for a few dict and deque operations.
        """
        key = (user, flag, variant)
        if key in self._recent:  # a read of a dict that is only ever replaced, never shrunk
            self.deduplicated += 1  # a statistic: a rare lost increment is harmless
            return
        with self._lock:
            recent = self._recent
            if key in recent:
                self.deduplicated += 1
                return
            recent[key] = None  # seen again: it moves to (or enters) the recent generation
            known = key in self._older
            if len(recent) >= self._generation:
                self._older = recent
                self._recent = {}
            if known:
                self.deduplicated += 1
                return
            queue = self._queue
            if len(queue) == self._capacity:
                self.dropped += 1  # the deque drops the oldest item itself
            queue.append((flag, variant, user, _now(), experiment))
            self.queued += 1
            if len(queue) == self._batch_size and self.on_batch_ready is not None:
                self.on_batch_ready()

    def add(self, path: str, payload: dict[str, Any]) -> None:
        with self._lock:
            self._push(_Outgoing(path, payload))

    def _push(self, item: Exposure | _Outgoing) -> None:  # with self._lock held
        queue = self._queue
        if len(queue) == queue.maxlen:
            self.dropped += 1  # the deque drops the oldest item itself
        queue.append(item)
        self.queued += 1
        if len(queue) == self._batch_size and self.on_batch_ready is not None:
            self.on_batch_ready()

    def take(self, limit: int) -> list[Exposure | _Outgoing]:
        with self._lock:
            queue = self._queue
            return [queue.popleft() for _ in range(min(limit, len(queue)))]

    def __len__(self) -> int:
        return len(self._queue)

    def forget_exposures(self) -> None:
        with self._lock:
            self._recent = {}
            self._older = {}


class EventSender:
    """Sends the buffer's events in batches from one daemon thread: every `flush_interval`,
    as soon as a batch is full, and on `flush()`/`close()`. Failed sends are retried with
    backoff (and `Retry-After`), the same batch with the same ids."""

    def __init__(
        self,
        buffer: EventBuffer,
        transport: Transport,
        *,
        flush_interval: float = 5.0,
        batch_size: int = 500,
        backoff_base: float = 1.0,
        backoff_max: float = 60.0,
    ) -> None:
        self.buffer = buffer
        self.transport = transport
        self.flush_interval = flush_interval
        self.batch_size = max(1, min(batch_size, MAX_BATCH))
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        buffer._batch_size = self.batch_size
        buffer.on_batch_ready = self._batch_ready
        # Sent but not yet acknowledged: resent as they are (same ids) until they are.
        self._pending: list[_Outgoing] = []
        self._state = threading.Condition()
        self._wake = False
        self._flush_requested = False
        self._busy = False
        self._closing = False
        self._close_deadline = 0.0
        self._auth_failed = False
        self._failures = 0
        self.sent = 0
        self.rejected = 0
        self.discarded = 0
        self.send_errors = 0
        self.last_error: str | None = None
        self._thread = threading.Thread(target=self._run, name="flagsite-events", daemon=True)

    def start(self) -> None:
        self._thread.start()

    # -- called from other threads ----------------------------------------------------------

    def _batch_ready(self) -> None:
        # Called (with the buffer's lock held) once the queue holds a full batch.
        with self._state:
            self._wake = True
            self._state.notify_all()

    def flush(self, timeout: float = 5.0) -> bool:
        """Send everything queued now; True when the queue and the retries are empty."""
        deadline = time.monotonic() + timeout
        with self._state:
            self._flush_requested = True
            self._state.notify_all()
            while self._flush_requested or self._busy or not self._idle():
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._thread.is_alive():
                    return not self._busy and self._idle()
                self._state.wait(remaining)
            return True

    def close(self, timeout: float = 5.0) -> None:
        """Flush, trying for at most `timeout` seconds, then stop the thread. What could not be
        sent by then is counted in `discarded`."""
        with self._state:
            self._closing = True
            self._close_deadline = time.monotonic() + timeout
            self._state.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout + 1.0)

    def _idle(self) -> bool:
        return not self._pending and len(self.buffer) == 0

    # -- the sender thread -----------------------------------------------------------------

    def _run(self) -> None:
        next_attempt = time.monotonic() + self.flush_interval
        while True:
            with self._state:
                while not (
                    self._closing
                    or self._flush_requested
                    or (self._wake and self._failures == 0)
                    or time.monotonic() >= next_attempt
                ):
                    self._state.wait(max(0.0, next_attempt - time.monotonic()))
                self._wake = self._flush_requested = False
                self._busy = True
                closing = self._closing
            try:
                ok, retry_after = self._send_all()
            except Exception:  # a bug here must not kill the thread and lose every later event
                log.exception("flagsite: unexpected error while sending events")
                ok, retry_after = False, None
            delay = 0.0
            if ok:
                self._failures = 0
                next_attempt = time.monotonic() + self.flush_interval
            else:
                self._failures += 1
                delay = retry_delay(
                    self._failures, self.backoff_base, self.backoff_max, retry_after
                )
                next_attempt = time.monotonic() + delay
            with self._state:
                self._busy = False
                self._state.notify_all()
            if closing:
                if ok:
                    return
                remaining = self._close_deadline - time.monotonic()
                if delay >= remaining:
                    self._give_up()
                    return
                time.sleep(delay)

    def _give_up(self) -> None:
        left = len(self._pending) + len(self.buffer)
        self.buffer.take(len(self.buffer))
        self._pending = []
        if left:
            self.discarded += left
            log.warning("flagsite: discarded %d unsent events at close", left)
        with self._state:
            self._state.notify_all()

    def _send_all(self) -> tuple[bool, float | None]:
        """Send the pending retries, then everything queued. Stops at the first failure."""
        while True:
            if not self._pending:
                items = self.buffer.take(self.batch_size)
                if not items:
                    return True, None
                self._pending = [
                    item
                    if isinstance(item, _Outgoing)
                    else _Outgoing(EVENTS_PATH, exposure_event(item))
                    for item in items
                ]
            if self._auth_failed:
                self.discarded += len(self._pending)
                self._pending = []
                continue
            ok, retry_after = self._send_pending()
            if not ok:
                return False, retry_after

    def _send_pending(self) -> tuple[bool, float | None]:
        events = [o.payload for o in self._pending if o.path == EVENTS_PATH]
        if events:
            ok, retry_after = self._post_events(events)
            if not ok:
                return False, retry_after
            self._pending = [o for o in self._pending if o.path != EVENTS_PATH]
        while self._pending:
            ok, retry_after = self._post_feedback(self._pending[0].payload)
            if not ok:
                return False, retry_after
            self._pending.pop(0)
        return True, None

    def _post(self, path: str, body: bytes) -> tuple[int | None, Any, float | None]:
        """(status, decoded JSON or None, Retry-After); status None for a network failure."""
        try:
            resp = self.transport.request("POST", path, body=body)
        except TransportError as exc:
            self._note_error(str(exc))
            return None, None, None
        try:
            payload = resp.json() if resp.body else None
        except ValueError:
            payload = None
        return resp.status, payload, parse_retry_after(resp.header("Retry-After"))

    def _post_events(self, events: list[dict[str, Any]]) -> tuple[bool, float | None]:
        body = json.dumps({"events": events}, separators=(",", ":")).encode()
        if len(body) > MAX_BODY and len(events) > 1:
            return self._post_halves(events)
        status, payload, retry_after = self._post(EVENTS_PATH, body)
        if status is None:
            return False, None
        if status == 413 and len(events) > 1:  # the server's limit is lower than we thought
            return self._post_halves(events)
        if status == 200 and isinstance(payload, dict):
            self.sent += int(payload.get("accepted", 0)) + int(payload.get("duplicates", 0))
            rejected = payload.get("rejected") or []
            if rejected:
                self.rejected += len(rejected)
                log.warning(
                    "flagsite: the server rejected %d events, e.g. %s", len(rejected), rejected[0]
                )
            return True, None
        if status == 200:
            self.sent += len(events)
            return True, None
        return self._after_failure(status, len(events), payload, retry_after, "events")

    def _post_halves(self, events: list[dict[str, Any]]) -> tuple[bool, float | None]:
        half = len(events) // 2
        ok, retry_after = self._post_events(events[:half])
        if not ok:
            return False, retry_after
        # The first half is stored: take it out of the retries so only the rest is resent.
        sent_ids = {e["id"] for e in events[:half]}
        self._pending = [o for o in self._pending if o.payload.get("id") not in sent_ids]
        return self._post_events(events[half:])

    def _post_feedback(self, feedback: dict[str, Any]) -> tuple[bool, float | None]:
        status, payload, retry_after = self._post(FEEDBACK_PATH, json.dumps(feedback).encode())
        if status is None:
            return False, None
        if status in (200, 201):
            self.sent += 1
            return True, None
        return self._after_failure(status, 1, payload, retry_after, "feedback")

    def _after_failure(
        self, status: int, count: int, payload: Any, retry_after: float | None, what: str
    ) -> tuple[bool, float | None]:
        if status == 429 or status == 408 or status >= 500:
            self._note_error(f"{what}: HTTP {status}")
            return False, retry_after
        if status in (401, 403):
            self._auth_failed = True
            self.discarded += count
            self.last_error = f"{what}: HTTP {status}"
            log.error(
                "flagsite: the server refused the API key for %s (HTTP %d); events will "
                "be discarded. Check the server key.",
                what,
                status,
            )
            return True, None
        # 400, 413 for a single event, anything else: resending the same body cannot help.
        self.rejected += count
        log.warning(
            "flagsite: the server rejected %d %s (HTTP %d): %s", count, what, status, payload
        )
        return True, None

    def _note_error(self, message: str) -> None:
        self.send_errors += 1
        self.last_error = message
        if self._failures == 0:
            log.warning("flagsite: could not send events, will retry: %s", message)
