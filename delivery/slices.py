"""Slices of a rate-limit bucket, reserved from Redis and spent in this process.

A bucket's allowance for one window (`limit` requests per minute) is a counter in Redis that only
counts *reservations*: a process that needs units for a bucket reserves a slice of them in one
atomic Lua call (the counter never passes the limit: a reservation is cut to what is left), then
admits requests from that slice locally, under one lock, without talking to Redis, and reserves
again when the slice is spent. At the window's roll-over the local slices expire with it.

Guarantee (docs/security.md, "Rate limits"):
- **Never over.** The fleet admits at most `limit` requests per bucket and window: every admitted
  request spends a unit that Redis granted, and Redis grants at most `limit` units per window.
- **Refused early by at most the others' unused slices.** A request is refused only when this
  process holds no unit of the bucket and Redis has none left; then the units granted but not
  yet spent are all in other processes' slices, so the fleet has admitted at least
  `limit - (P - 1) x s` in that window (P processes), where s is the largest slice:
  `s = min(FLAGSITE_RATE_LIMIT_SLICE, max(1, floor(limit / SPREAD)))`. A slice is also at most
  1/TAIL of what is left in Redis, so slices shrink to 1 near the limit (the last units are
  shared finely), and a limit below 2 x SPREAD (128) is counted one unit at a time: exact, as
  before slices. Round trips per bucket and window: about `limit / s` plus ~TAIL x ln(s) near
  the end (~100 for a bucket used up to its limit), however many requests.
- Processes that keep receiving traffic spend their slices: if every process keeps being asked
  until it refuses, exactly `limit` are admitted.

Several buckets in one request (a client key: per caller IP and the key's ceiling) stay all or
nothing: units are taken from every bucket or from none, and a reservation in Redis grants
units for every bucket it asks for, or for none when one is full (which is then remembered in
this process until the window ends: refusals cost no round trip, since a counter never goes down
within its window). When several threads need the same bucket at once, one reserves a slice and
the others wait for it (at most WAIT; after two waits a thread reserves a single unit for itself,
spent at once), so a process never holds more than one slice's leftover per bucket.

Memory is bounded: slices of per-key buckets and of per-IP buckets (a bucket whose name has
`ip:`) live in two tables with caps of their own, so a flood of random addresses never touches
the keys' slices. A full table first drops the entries of past windows (once per window); if it
is still full, the new bucket is counted without a local entry (one unit per round trip, exact).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

SPREAD = 64  # a slice is at most 1/SPREAD of the limit,
TAIL = 8  # and at most 1/TAIL of what is left in Redis
MAX_KEY_SLICES = 30_000  # per-key buckets: known keys only (x3 scopes of delivery.auth's 10,000)
MAX_IP_SLICES = 100_000  # per-IP buckets: anyone can create these

# KEYS: the counters of the buckets that need units; ARGV: their limits (n), the units wanted
# (n), the key TTL, SPREAD, TAIL. Returns {i} (1-based) when bucket i is full (nothing is
# reserved), else {0, grant_1, ..., grant_n}: each grant at least 1 and at most what was wanted,
# 1/SPREAD of the limit and 1/TAIL of what is left, so the counter never passes the limit.
RESERVE = """
local n = #KEYS
local spread, tail = tonumber(ARGV[2 * n + 2]), tonumber(ARGV[2 * n + 3])
local grants = {0}
for i = 1, n do
  local limit = tonumber(ARGV[i])
  local left = limit - tonumber(redis.call('GET', KEYS[i]) or '0')
  if left <= 0 then return {i} end
  local most = math.max(1, math.floor(limit / spread))
  grants[i + 1] = math.min(tonumber(ARGV[n + i]), most, math.max(1, math.floor(left / tail)))
end
for i = 1, n do
  if redis.call('INCRBY', KEYS[i], grants[i + 1]) == grants[i + 1] then
    redis.call('EXPIRE', KEYS[i], ARGV[2 * n + 1])
  end
end
return grants
"""


class Slice:
    """What this process holds of one bucket in one window."""

    __slots__ = ("full", "left", "limit", "refilling", "window")

    def __init__(self, window: int, limit: int) -> None:
        self.renew(window, limit)

    def renew(self, window: int, limit: int) -> None:
        self.window = window
        self.limit = limit
        self.left = 0  # units reserved in Redis and not yet spent here
        self.full = False  # Redis said the bucket is full for this window
        self.refilling = False  # a thread is reserving a slice for it now


class SliceTable:
    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.slices: dict[str, Slice] = {}
        self.swept = -1  # the window in which past windows' entries were last dropped

    def entry(self, bucket: str, window: int, limit: int) -> Slice | None:
        """The bucket's slice for this window and limit (a new one if needed); None when the
        table is full of this window's entries."""
        s = self.slices.get(bucket)
        if s is None:
            if len(self.slices) >= self.cap:
                if self.swept != window:
                    self.swept = window
                    for stale in [b for b, v in self.slices.items() if v.window != window]:
                        del self.slices[stale]
                if len(self.slices) >= self.cap:
                    return None
            s = self.slices[bucket] = Slice(window, limit)
        elif s.window != window or s.limit != limit:
            s.renew(window, limit)  # the old window's units expire with it
        return s


lock = threading.Lock()
refilled = threading.Condition(lock)  # a reservation came back (or failed)
WAIT = 1.0  # at most this long for another thread's reservation (seconds)
keys = SliceTable(MAX_KEY_SLICES)
ips = SliceTable(MAX_IP_SLICES)


def table(bucket: str) -> SliceTable:
    return ips if "ip:" in bucket else keys


Need = tuple[str, int, "Slice | None", int, bool]  # bucket, limit, slice, units wanted, leader


def spend(
    buckets: Sequence[tuple[str, int]],
    window: int,
    reserve: Callable[[list[tuple[str, int, int]], int], Any],
    slice_max: Callable[[], int],
    *,
    patient: bool = True,
) -> bool | None:
    """Admit one request in every bucket with a limit > 0 (True) or none (False); None when
    another thread was reserving a slice of one of them and this one waited for it (`patient`):
    ask again. An impatient call reserves a single unit for itself instead of waiting.

    `reserve(needs, window)` is the round trip: it gets [(bucket, limit, wanted)] and returns
    RESERVE's answer; it is called only when this process lacks units, and whatever it raises
    is raised here after the units taken for this request are given back. `slice_max()`: the
    most units one reservation asks for (read only when reserving)."""
    with lock:
        # The steady state: every bucket has a unit here. No allocation, no round trip.
        for bucket, limit in buckets:
            if limit > 0:
                s = table(bucket).slices.get(bucket)
                if s is None or s.left <= 0 or s.window != window or s.limit != limit:
                    break
        else:
            for bucket, limit in buckets:
                if limit > 0:
                    table(bucket).slices[bucket].left -= 1
            return True
        taken: list[Slice] = []
        needs: list[Need] = []
        most = slice_max()
        for bucket, limit in buckets:
            if limit <= 0:
                continue
            s = table(bucket).entry(bucket, window, limit)
            if s is not None and s.left > 0:
                s.left -= 1
                taken.append(s)
            elif s is not None and s.full:
                _done(needs)
                _give_back(taken, window)
                return False
            elif s is not None and s.refilling and patient:
                _done(needs)  # never wait while others wait for this one's reservation
                _give_back(taken, window)
                refilled.wait(WAIT)
                return None
            else:
                leader = s is not None and not s.refilling
                if s is not None and leader:
                    s.refilling = True
                needs.append((bucket, limit, s, most if leader else 1, leader))
        if not needs:
            return True
    try:
        answer = reserve([(bucket, limit, want) for bucket, limit, _, want, _ in needs], window)
    except BaseException:
        with lock:
            _done(needs)
            _give_back(taken, window)
        raise
    with lock:
        _done(needs)
        refused = int(answer[0])
        if refused:
            _give_back(taken, window)
            s = needs[refused - 1][2]
            if s is not None and s.window == window:
                s.full = True
            return False
        for (_, limit, s, _, _), grant in zip(needs, answer[1:], strict=True):
            if s is not None and s.window == window and s.limit == limit:
                s.left += int(grant) - 1  # one unit is this request's
        return True


def _done(needs: list[Need]) -> None:
    for _, _, s, _, leader in needs:
        if leader and s is not None:
            s.refilling = False
            refilled.notify_all()


def _give_back(taken: list[Slice], window: int) -> None:
    for s in taken:
        if s.window == window:
            s.left += 1


def held(bucket: str) -> int:
    """Units of the bucket this process holds unspent (tests, diagnostics)."""
    with lock:
        s = table(bucket).slices.get(bucket)
        return 0 if s is None else s.left


def reset() -> None:
    with lock:
        for t in (keys, ips):
            t.slices.clear()
            t.swept = -1
