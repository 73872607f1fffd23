"""The slice logic of delivery/slices.py against a store double that grants as RESERVE does
(Redis itself: test_limits_exact.py): roll-over, a full bucket remembered, all or nothing,
threads sharing one reservation, a failing store, and the bounded tables."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

import pytest

from delivery import ratelimit, slices
from delivery.ratelimit import rate_limit_check
from delivery.slices import SPREAD, TAIL, spend

W = 30_000_000  # a window number


class Store:
    """Grants like slices.RESERVE: never past the limit, at most 1/SPREAD of it and 1/TAIL of
    what is left; remembers every call."""

    def __init__(self, delay: float = 0.0, fail: bool = False) -> None:
        self.counts: Counter[tuple[str, int]] = Counter()
        self.calls: list[list[tuple[str, int, int]]] = []
        self.delay = delay
        self.fail = fail
        self.lock = threading.Lock()
        self.in_flight: Counter[str] = Counter()
        self.most_in_flight = 0

    def __call__(self, needs: list[tuple[str, int, int]], window: int) -> list[int]:
        with self.lock:
            self.calls.append(list(needs))
            for bucket, _, want in needs:
                if want > 1:
                    self.in_flight[bucket] += 1
                    self.most_in_flight = max(self.most_in_flight, self.in_flight[bucket])
        try:
            time.sleep(self.delay)
            if self.fail:
                raise ConnectionError("store down")
            with self.lock:
                grants = [0]
                for i, (bucket, limit, want) in enumerate(needs, 1):
                    left = limit - self.counts[bucket, window]
                    if left <= 0:
                        return [i]
                    grants.append(min(want, max(1, limit // SPREAD), max(1, left // TAIL)))
                for (bucket, _, _), grant in zip(needs, grants[1:], strict=True):
                    self.counts[bucket, window] += grant
                return grants
        finally:
            with self.lock:
                for bucket, _, want in needs:
                    if want > 1:
                        self.in_flight[bucket] -= 1


def most(n: int = 100) -> Any:
    return lambda: n


@pytest.fixture(autouse=True)
def _empty_tables() -> Any:
    slices.reset()
    yield
    slices.reset()


def test_a_slice_is_spent_locally_until_it_is_used_up() -> None:
    store = Store()
    admitted = [spend([("key:1", 6400)], W, store, most()) for _ in range(250)]
    assert admitted == [True] * 250
    # Slices of 100 (1/64 of 6,400 and the setting): 3 reservations for 250 requests.
    assert [want for call in store.calls for _, _, want in call] == [100, 100, 100]
    assert slices.held("key:1") == 50


def test_local_slices_expire_at_the_window_roll_over() -> None:
    store = Store()
    assert spend([("key:1", 6400)], W, store, most())
    assert slices.held("key:1") == 99
    # The next window: the 99 units of the last one are not used; a new slice is reserved.
    assert spend([("key:1", 6400)], W + 1, store, most())
    assert len(store.calls) == 2
    assert store.counts["key:1", W + 1] == 100
    assert slices.held("key:1") == 99
    # A late answer for the old window adds nothing to the new one.
    assert spend([("key:1", 6400)], W, store, most())
    assert slices.held("key:1") == 99


def test_a_full_bucket_is_refused_without_a_round_trip_until_the_window_ends() -> None:
    store = Store()
    results = [spend([("key:1", 10)], W, store, most()) for _ in range(30)]
    assert results == [True] * 10 + [False] * 20
    assert len(store.calls) == 11  # limits below 128 count one unit at a time; one refusal
    assert spend([("key:1", 10)], W + 1, store, most())
    assert len(store.calls) == 12


def test_small_limits_are_exact_and_large_ones_never_over() -> None:
    for limit in (1, 50, 127, 128, 1000, 6400, 100_000):
        store = Store()
        slices.reset()
        admitted = sum(bool(spend([("key:1", limit)], W, store, most())) for _ in range(limit + 50))
        assert admitted == limit, limit
        assert store.counts["key:1", W] == limit


def test_a_refused_request_is_counted_in_no_bucket() -> None:
    store = Store()
    ceiling = ("key:7", 6400)
    assert spend([("key:7:ip:a", 2), ceiling], W, store, most())
    held = slices.held("key:7")
    for _ in range(5):
        spend([("key:7:ip:a", 2), ceiling], W, store, most())
    # One more admitted from the ceiling's slice, then refusals that gave their unit back.
    assert slices.held("key:7") == held - 1
    # And the store granted nothing for the refused ones: the per-IP counter stopped at 2.
    assert store.counts["key:7:ip:a", W] == 2


def test_threads_share_one_reservation_and_admit_exactly_the_limit() -> None:
    store = Store(delay=0.002)
    admitted = [0] * 8
    start = threading.Barrier(8)

    def run(i: int) -> None:
        start.wait()
        for _ in range(300):
            while (result := spend([("key:1", 2000)], W, store, most())) is None:
                pass  # waited for another thread's reservation: ask again
            admitted[i] += result

    workers = [threading.Thread(target=run, args=(i,)) for i in range(8)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert sum(admitted) == 2000
    assert store.most_in_flight == 1  # one slice at a time per bucket; the others wait for it
    assert len(store.calls) < 2000 / 10


def test_a_failing_store_gives_back_the_units_taken_and_lets_the_next_one_lead() -> None:
    store = Store()
    assert spend([("key:1", 6400)], W, store, most())
    held = slices.held("key:1")
    failing = Store(fail=True)
    with pytest.raises(ConnectionError):
        spend([("key:1", 6400), ("key:1:ip:a", 6400)], W, failing, most())
    assert slices.held("key:1") == held  # the unit taken for the failed request is back
    # Nobody is left waiting for the failed reservation: the next request reserves a slice.
    assert spend([("key:1:ip:a", 6400)], W, store, most())
    assert store.calls[-1] == [("key:1:ip:a", 6400, 100)]


def test_a_flood_of_addresses_neither_grows_the_table_nor_touches_the_keys_slices(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(slices, "ips", slices.SliceTable(50))
    store = Store()
    assert spend([("key:1", 6400)], W, store, most())
    held = slices.held("key:1")
    for i in range(500):
        assert spend([(f"unauth:ip:10.0.{i // 256}.{i % 256}", 600)], W, store, most())
    assert len(slices.ips.slices) == 50
    assert slices.held("key:1") == held
    # Past the cap an address is counted one unit per round trip, still limited.
    late = [spend([("unauth:ip:192.0.2.1", 3)], W, store, most()) for _ in range(5)]
    assert late == [True, True, True, False, False]
    assert all(want == 1 for call in store.calls[-5:] for _, _, want in call)
    # The next window first drops the past window's entries, once.
    assert spend([("unauth:ip:192.0.2.1", 600)], W + 1, store, most())
    assert len(slices.ips.slices) == 1


def test_a_new_limit_renews_the_slice() -> None:
    store = Store()
    assert spend([("key:1", 6400)], W, store, most())
    assert spend([("key:1", 64_000)], W, store, most())
    assert len(store.calls) == 2


def test_a_store_failure_counts_in_this_process_for_a_while(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given slices in hand (a Redis cache whose reservations go to the double),
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    store = Store()
    monkeypatch.setattr(ratelimit, "_reserve", store)
    now = W * 60.0
    assert rate_limit_check([("key:1", 128)], now=now) is None
    assert slices.held("key:1") == 1
    assert rate_limit_check([("key:1", 128)], now=now) is None  # from the slice
    # when the store fails at the next reservation,
    store.fail = True
    assert rate_limit_check([("key:1", 128)], now=now) is None  # counted in this process
    calls = len(store.calls)
    # then for RETRY_AFTER_FAILURE seconds every request is counted here, exactly (as before
    # slices: a process admits up to the limit on its own),
    results = [rate_limit_check([("key:1", 128)], now=now) is None for _ in range(130)]
    assert results == [True] * 127 + [False] * 3
    assert len(store.calls) == calls
    # and then the store is asked again.
    monkeypatch.setattr(ratelimit, "_down_until", 0.0)
    store.fail = False
    assert rate_limit_check([("key:1", 128)], now=now) is None
    assert len(store.calls) == calls + 1


@pytest.mark.parametrize(
    ("value", "errors"), [(1, []), (100, []), (1000, []), (0, ["E"]), (1001, ["E"])]
)
def test_the_slice_setting_is_checked(settings: Any, value: int, errors: list[str]) -> None:
    from delivery.checks import rate_limit_slice_setting

    settings.FLAGSITE_RATE_LIMIT_SLICE = value
    found = rate_limit_slice_setting(None)
    assert [e.id for e in found] == ["delivery.E001"] * len(errors)
    assert ratelimit.slice_max() == min(1000, max(1, value))
