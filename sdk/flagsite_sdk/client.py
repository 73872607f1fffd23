"""`Client`: evaluates flags locally with the engine against a ruleset it keeps current, and
reports exposures, LLM calls, implicit signals and feedback.

    with Client("https://flags.example.com", "fs_srv_...") as flags:
        model = flags.variation("llm-model", {"key": user.id, "tier": user.tier}, "gpt-4")

The evaluation path is the engine and nothing else: one dict lookup in the current compiled
ruleset (the reference is swapped atomically when a new ruleset arrives, so readers take no
lock), the flag's compiled function, and an O(1) exposure record. No call on it does I/O, and
none raises into the caller: a missing flag, a value of the wrong type or a broken context gives
the caller's default.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from .checks import (
    PROVIDER_NOT_READY,
    TYPE_MISMATCH,
    Check,
    check_for,
    is_bool,
    is_json,
    is_number,
    is_string,
)
from .engine import (
    ERROR,
    FLAG_NOT_FOUND,
    GENERAL,
    Evaluation,
    Ruleset,
    compile_ruleset,
    experiment_of,
)
from .engine.model import FlagFunction
from .events import EventBuffer, EventSender
from .overrides import Overrides
from .polling import Poller
from .reporting import Reporting
from .stats import ClientStats
from .store import (
    PathLike,
    Snapshot,
    cache_try_read,
    cache_write,
    snapshot_from_data,
    snapshot_read,
)
from .transport import Transport

log = logging.getLogger("flagsite_sdk")

T = TypeVar("T")
Context = Mapping[str, Any]
_EMPTY: Context = {}


def _with_key(context: Context | None) -> Context:
    """The context the engine sees: OpenFeature's `targetingKey` is an alias of `key`."""
    if context is None:
        return _EMPTY
    targeting_key = context.get("targetingKey")
    if targeting_key is None:
        return context
    return {**context, "key": targeting_key}


class Client(Reporting, Overrides):
    """The flagsite SDK client. Thread-safe; create one per process and share it.

    `base_url`/`server_key` point at the flagsite server and an environment's server key. The
    client fetches the ruleset at start (waiting up to `start_wait` seconds for it), then polls
    every `poll_interval` seconds in a background thread. `offline=True` makes no network calls
    at all (use `bootstrap` for the flags). See docs/sdk.md for every option. The reporting
    methods are in reporting.py, the overrides (for tests) in overrides.py.
    """

    def __init__(
        self,
        base_url: str | None = None,
        server_key: str | None = None,
        *,
        poll_interval: float = 15.0,
        poll_jitter: float = 0.1,
        backoff_max: float = 60.0,
        start_wait: float = 5.0,
        timeout: float = 10.0,
        cache_path: PathLike | None = None,
        bootstrap: Mapping[str, Any] | PathLike | None = None,
        offline: bool = False,
        send_events: bool = True,
        record_exposures: bool = True,
        events_flush_interval: float = 5.0,
        events_batch_size: int = 500,
        events_capacity: int = 10_000,
        exposure_dedup_size: int = 50_000,
        events_backoff_base: float = 1.0,
        on_change: Callable[[Ruleset], None] | None = None,
    ) -> None:
        if not offline and (not base_url or not server_key):
            raise ValueError("Client needs base_url and server_key (or offline=True)")
        self._lock = threading.Lock()
        self._ruleset: Ruleset | None = None
        self._functions: dict[str, FlagFunction] = {}
        self._overrides: dict[str, Evaluation] = {}
        self._source: str | None = None
        self._updated_at: float | None = None
        self._cache_path = cache_path
        self._listeners: list[Callable[[Ruleset], None]] = [on_change] if on_change else []
        self._closed = False
        self.evaluation_errors = 0
        self.offline = offline

        self._buffer: EventBuffer | None = None
        self._exposures: EventBuffer | None = None  # the buffer, when exposures are recorded
        self._sender: EventSender | None = None
        self._poller: Poller | None = None
        self._events_discarded = 0

        if bootstrap is not None:
            self._install(_bootstrap_snapshot(bootstrap), "bootstrap")

        if offline:
            return
        assert base_url is not None and server_key is not None
        if send_events:
            self._buffer = EventBuffer(capacity=events_capacity, dedup_size=exposure_dedup_size)
            self._sender = EventSender(
                self._buffer,
                Transport(base_url, server_key, timeout=timeout),
                flush_interval=events_flush_interval,
                batch_size=events_batch_size,
                backoff_base=events_backoff_base,
                backoff_max=backoff_max,
            )
            self._sender.start()
            if record_exposures:
                self._exposures = self._buffer
        self._poller = Poller(
            Transport(base_url, server_key, timeout=timeout),
            interval=poll_interval,
            jitter=poll_jitter,
            backoff_max=max(backoff_max, poll_interval),
            on_snapshot=lambda snapshot: self._install(snapshot, "server"),
            on_first_failure=self._load_cache,
        )
        self._poller.start()
        if start_wait > 0:
            self._poller.first_attempt_done.wait(start_wait)
        if self._ruleset is None:
            self._load_cache()
        self._atexit = _AtExit(self)
        atexit.register(self._atexit)

    # -- evaluation (the hot path) -----------------------------------------------------------

    def variation(self, flag_key: str, context: Context | None, default: T) -> T:
        """The flag's value for this context, or `default` when the flag is missing, its value
        is not of `default`'s type (bool, str, number, dict/list) or anything goes wrong."""
        try:
            function = self._functions.get(flag_key)
            if function is None:
                return default
            if context is None or "key" not in context:
                context = _with_key(context)
            result = function(context)
            if result.error_code is not None:
                return default
            value = result.value
            if (
                default is not None
                and value.__class__ is not default.__class__
                and not check_for(default)(value)
            ):
                return default
            variant = result.variant
            if variant is not None and self._exposures is not None:
                user = context.get("key")
                if user is not None:
                    self._exposures.expose(flag_key, variant, user, experiment_of(result.rule_id))
            return value  # type: ignore[no-any-return]
        except Exception:
            self.evaluation_errors += 1
            log.debug("flagsite: evaluating %r failed", flag_key, exc_info=True)
            return default

    def bool_variation(self, flag_key: str, context: Context | None, default: bool) -> bool:
        return self._typed(flag_key, context, default, is_bool).value  # type: ignore[no-any-return]

    def string_variation(self, flag_key: str, context: Context | None, default: str) -> str:
        return self._typed(flag_key, context, default, is_string).value  # type: ignore[no-any-return]

    def number_variation(self, flag_key: str, context: Context | None, default: float) -> float:
        """An int or a float (never a bool)."""
        return self._typed(flag_key, context, default, is_number).value  # type: ignore[no-any-return]

    def json_variation(self, flag_key: str, context: Context | None, default: T) -> T:
        """A JSON object or array. The value is shared between calls: do not mutate it."""
        return self._typed(flag_key, context, default, is_json).value  # type: ignore[no-any-return]

    def evaluate(
        self,
        flag_key: str,
        context: Context | None,
        default: Any = None,
        *,
        expected: Check | None = None,
    ) -> Evaluation:
        """The full result: value, variant, reason, rule_id, error_code (docs/ruleset.md).

        On an error the value is `default` and the reason ERROR, with error_code
        FLAG_NOT_FOUND, TYPE_MISMATCH (the value fails `expected`, by default a check derived
        from `default`'s type), PROVIDER_NOT_READY (no ruleset yet) or GENERAL.
        """
        return self._typed(flag_key, context, default, expected or check_for(default))

    def _typed(
        self, flag_key: str, context: Context | None, default: Any, check: Check
    ) -> Evaluation:
        try:
            function = self._functions.get(flag_key)
            if function is None:
                code = PROVIDER_NOT_READY if self._ruleset is None else FLAG_NOT_FOUND
                return Evaluation(default, None, ERROR, None, code)
            if context is None or "key" not in context:
                context = _with_key(context)
            result = function(context)
            if result.error_code is not None:
                return result._replace(value=default)
            if not check(result.value):
                return Evaluation(default, None, ERROR, result.rule_id, TYPE_MISMATCH)
            variant = result.variant
            if variant is not None and self._exposures is not None:
                user = context.get("key")
                if user is not None:
                    self._exposures.expose(flag_key, variant, user, experiment_of(result.rule_id))
            return result
        except Exception:
            self.evaluation_errors += 1
            log.debug("flagsite: evaluating %r failed", flag_key, exc_info=True)
            return Evaluation(default, None, ERROR, None, GENERAL)

    def all_flags(
        self, context: Context | None, *, record_exposures: bool = False
    ) -> dict[str, Evaluation]:
        """Every flag's result for this context (e.g. to hand a browser its flags). Exposures
        are not recorded unless asked for: handing flags over is not using them."""
        try:
            context = _with_key(context)
            results = {key: function(context) for key, function in self._functions.items()}
            if record_exposures and self._exposures is not None:
                user = context.get("key")
                if user is not None:
                    for key, result in results.items():
                        if result.variant is not None:
                            self._exposures.expose(
                                key, result.variant, user, experiment_of(result.rule_id)
                            )
            return results
        except Exception:
            self.evaluation_errors += 1
            log.debug("flagsite: all_flags failed", exc_info=True)
            return {}

    # -- the ruleset ---------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        """True once a ruleset is loaded (from the server, the cache file or a bootstrap)."""
        return self._ruleset is not None

    @property
    def ruleset(self) -> Ruleset | None:
        return self._ruleset

    def wait_until_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self._ruleset is None and time.monotonic() < deadline:
            time.sleep(0.01)
        return self._ruleset is not None

    def on_change(self, listener: Callable[[Ruleset], None]) -> None:
        """Call `listener(ruleset)` (on the poller thread) whenever a new ruleset is installed."""
        self._listeners.append(listener)

    def _install(self, snapshot: Snapshot, source: str, *, only_if_empty: bool = False) -> bool:
        """Compile and swap in a ruleset; False when it cannot be used (or, with
        `only_if_empty`, when another one got there first)."""
        try:
            compiled = compile_ruleset(snapshot.data)
        except Exception as exc:
            log.error("flagsite: cannot use the ruleset from %s: %s", source, exc)
            return False
        for key, reason in compiled.errors.items():
            log.warning(
                "flagsite: flag %r is broken in this ruleset (%s); it serves defaults", key, reason
            )
        with self._lock:
            if only_if_empty and self._ruleset is not None:
                return False
            self._ruleset = compiled
            self._source = source
            self._updated_at = time.time()
            self._functions = self._merged(compiled)
        if self._poller is not None and snapshot.etag:
            self._poller.etag = snapshot.etag
        if source == "server" and self._cache_path is not None:
            try:
                cache_write(self._cache_path, snapshot)
            except OSError as exc:
                log.warning(
                    "flagsite: could not write the ruleset cache %s: %s", self._cache_path, exc
                )
        for listener in list(self._listeners):
            try:
                listener(compiled)
            except Exception:
                log.exception("flagsite: an on_change listener failed")
        return True

    def _load_cache(self) -> None:
        """Cold start during an outage: serve the last ruleset this host saw."""
        if self._cache_path is None or self._ruleset is not None:
            return
        snapshot = cache_try_read(self._cache_path)
        if snapshot is None:
            return
        # The poller may install the server's ruleset meanwhile: that one wins.
        if self._install(snapshot, "cache", only_if_empty=True):
            log.warning(
                "flagsite: the server is unreachable; serving the cached ruleset from %s",
                self._cache_path,
            )

    # -- events (the reporting methods are in reporting.py) -----------------------------

    def _enqueue(self, path: str, payload: dict[str, Any]) -> None:
        if self._buffer is None or self._closed:
            self._events_discarded += 1
            return
        self._buffer.add(path, payload)

    def flush(self, timeout: float = 5.0) -> bool:
        """Send every queued event now; True when nothing is left unsent."""
        if self._sender is None:
            return self._buffer is None or len(self._buffer) == 0
        return self._sender.flush(timeout)

    # -- lifecycle -------------------------------------------------------------------------------

    def close(self, timeout: float = 5.0) -> None:
        """Stop polling and flush the events (trying for up to `timeout` seconds). Idempotent;
        flags keep evaluating against the last ruleset afterwards."""
        if self._closed:
            return
        self._closed = True
        if self._poller is not None:
            self._poller.stop()
        if self._sender is not None:
            self._sender.close(timeout)
        if getattr(self, "_atexit", None) is not None:
            atexit.unregister(self._atexit)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def stats(self) -> ClientStats:
        """Counters and state, for dashboards and tests (a snapshot; see ClientStats)."""
        return ClientStats.collect(self)

    def __repr__(self) -> str:
        ruleset = self._ruleset
        version = ruleset.version if ruleset is not None else None
        return f"<flagsite Client source={self._source} version={version!r}>"


class _AtExit:
    """Flushes a client still open when the interpreter exits, without keeping it alive."""

    def __init__(self, client: Client) -> None:
        self._client = weakref.ref(client)

    def __call__(self) -> None:
        client = self._client()
        if client is not None:
            client.close(timeout=2.0)


def _bootstrap_snapshot(bootstrap: Mapping[str, Any] | PathLike) -> Snapshot:
    if isinstance(bootstrap, Mapping):
        return snapshot_from_data(bootstrap)
    return snapshot_read(bootstrap)
