"""The ruleset poller against a fake server: ETags, updates, failures of every kind, 401."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from flagsite_sdk.client import Client
from flagsite_sdk.polling import poll_hint
from flagsite_sdk.store import snapshot_read

from tests.sdk.builders import sample_ruleset
from tests.sdk.fakes import FakeServer, Reply, wait_for

RULESET = "/api/v1/sdk/ruleset"
ALICE = {"key": "alice"}
BOB = {"key": "bob"}


def _closed_port_url() -> str:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}"


def test_it_fetches_at_start_then_polls_with_if_none_match(
    fake: FakeServer, make_client: Callable[..., Client]
) -> None:
    client = make_client(fake.url)
    assert client.ready and client.stats.ruleset_source == "server"
    assert client.variation("llm-model", BOB, "x") == "gpt-4"
    # The server logs a request before the client has handled its answer: wait on the client.
    wait_for(lambda: client.stats.poll_not_modified >= 2)
    first, *later = fake.ruleset_requests()
    assert len(later) >= 2
    assert "If-None-Match" not in first.headers
    assert all(r.headers["If-None-Match"] == fake.etag() for r in later)
    assert first.headers["Authorization"] == "Bearer fs_srv_test"
    assert client.stats.poll_not_modified >= 2


def test_a_change_is_seen_within_one_poll_interval(
    fake: FakeServer, make_client: Callable[..., Client]
) -> None:
    client = make_client(fake.url, poll_interval=0.2)
    fake.ruleset = sample_ruleset(version=2, model_default="gpt-4-turbo")
    changed_at = time.monotonic()
    wait_for(lambda: client.variation("llm-model", BOB, "x") == "gpt-4-turbo", timeout=2)
    assert time.monotonic() - changed_at < 0.2 + 0.1  # one interval, plus the request itself
    assert client.stats.ruleset_version == 2


@pytest.mark.parametrize(
    "reply",
    [
        Reply(500, "Internal Server Error"),
        Reply(502, "<html>bad gateway</html>"),
        Reply(200, '{"schema": 1, "flags": {"llm-mo'),  # malformed JSON
        Reply(200, "[1, 2, 3]"),  # JSON, not a ruleset
        Reply(200, {"schema": 99, "flags": {}}),  # a ruleset this engine cannot read
        Reply(200, sample_ruleset(), delay=1.5),  # slower than the client's timeout
    ],
    ids=["500", "502-html", "malformed-json", "not-an-object", "unknown-schema", "timeout"],
)
def test_server_failures_never_reach_the_caller(
    fake: FakeServer, make_client: Callable[..., Client], reply: Reply
) -> None:
    client = make_client(fake.url, timeout=0.3)
    fake.fail(RULESET, reply)
    fake.ruleset = sample_ruleset(version=2, model_default="gpt-4-turbo")
    wait_for(lambda: client.stats.poll_errors >= 2, timeout=5)
    # The last known good values keep being served...
    assert client.variation("llm-model", BOB, "x") == "gpt-4"
    assert client.stats.ruleset_version == 1 and client.stats.polling
    # ...and the new ruleset is picked up once the server is healthy again.
    fake.heal()
    wait_for(lambda: client.variation("llm-model", BOB, "x") == "gpt-4-turbo", timeout=3)
    wait_for(lambda: client.stats.poll_failures_in_a_row == 0)


def test_errors_back_off_exponentially(
    fake: FakeServer, make_client: Callable[..., Client]
) -> None:
    client = make_client(fake.url, poll_interval=0.02, backoff_max=10.0)
    fake.fail(RULESET, Reply(503))
    before = len(fake.ruleset_requests())
    time.sleep(0.6)
    # Regular polling would have made ~30 requests; backoff 0.02-0.04, 0.04-0.08, ... makes < 6.
    assert len(fake.ruleset_requests()) - before <= 6
    assert client.stats.poll_failures_in_a_row >= 2


def test_429_retry_after_is_honoured(fake: FakeServer, make_client: Callable[..., Client]) -> None:
    make_client(fake.url, poll_interval=0.02)
    fake.fail(RULESET, Reply(429, {"error": "rate limited"}, {"Retry-After": "1"}))
    wait_for(lambda: fake.ruleset_requests()[-1].headers.get("If-None-Match") is not None)
    count = len(fake.ruleset_requests())
    time.sleep(0.5)
    assert len(fake.ruleset_requests()) <= count + 1


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_key_stops_polling_and_logs_an_error(
    fake: FakeServer,
    make_client: Callable[..., Client],
    caplog: pytest.LogCaptureFixture,
    status: int,
) -> None:
    client = make_client(fake.url)
    with caplog.at_level(logging.ERROR, logger="flagsite_sdk"):
        fake.fail(RULESET, Reply(status, {"detail": "Unknown or revoked API key."}))
        wait_for(lambda: not client.stats.polling)
    count = len(fake.ruleset_requests())
    time.sleep(0.2)
    assert len(fake.ruleset_requests()) == count
    assert client.stats.poll_stopped_reason == f"HTTP {status}"
    assert any("polling stopped" in r.getMessage() for r in caplog.records)
    assert client.variation("llm-model", ALICE, "x") == "gpt-4-turbo"  # still serving


def test_a_wrong_key_at_start_serves_defaults(
    fake: FakeServer, make_client: Callable[..., Client]
) -> None:
    fake.fail(RULESET, Reply(401, {"detail": "Unknown or revoked API key."}))
    client = make_client(fake.url, key="fs_srv_wrong")
    assert not client.ready and not client.stats.polling
    assert client.variation("llm-model", ALICE, "fallback") == "fallback"


def test_the_ruleset_is_cached_to_a_file(
    fake: FakeServer, make_client: Callable[..., Client], tmp_path: Path
) -> None:
    path = tmp_path / "flags.json"
    make_client(fake.url, cache_path=path)
    snapshot = snapshot_read(path)
    assert snapshot.data == fake.ruleset and snapshot.etag == fake.etag()


def test_cold_start_during_an_outage_reads_the_cache_file(
    fake: FakeServer, make_client: Callable[..., Client], tmp_path: Path
) -> None:
    # Given a cache written by an earlier process
    path = tmp_path / "flags.json"
    make_client(fake.url, cache_path=path).close()
    # When a new process starts while the server is down
    url = _closed_port_url()
    client = make_client(url, cache_path=path)
    # Then it serves the cached flags
    assert client.stats.ruleset_source == "cache"
    assert client.variation("llm-model", ALICE, "x") == "gpt-4-turbo"


def test_cold_start_with_a_hanging_server_waits_only_start_wait(
    fake: FakeServer, make_client: Callable[..., Client], tmp_path: Path
) -> None:
    path = tmp_path / "flags.json"
    make_client(fake.url, cache_path=path).close()
    fake.fail(RULESET, Reply(200, sample_ruleset(), delay=3))
    started = time.monotonic()
    client = make_client(fake.url, cache_path=path, start_wait=0.3, timeout=5)
    assert time.monotonic() - started < 1.0
    assert client.stats.ruleset_source == "cache"
    assert client.variation("llm-model", ALICE, "x") == "gpt-4-turbo"


def test_cached_etag_avoids_refetching(
    fake: FakeServer, make_client: Callable[..., Client], tmp_path: Path
) -> None:
    path = tmp_path / "flags.json"
    make_client(fake.url, cache_path=path).close()
    fake.fail(RULESET, Reply(503))
    client = make_client(fake.url, cache_path=path)
    fake.heal()
    wait_for(lambda: client.stats.poll_not_modified >= 1, timeout=3)
    assert client.stats.ruleset_source == "cache"


def test_no_server_no_cache_serves_defaults(make_client: Callable[..., Client]) -> None:
    client = make_client(_closed_port_url(), start_wait=0.5)
    assert not client.ready
    assert client.variation("llm-model", ALICE, "fallback") == "fallback"
    assert client.stats.last_poll_error


def test_close_stops_the_threads(fake: FakeServer) -> None:
    with Client(fake.url, "k", poll_interval=0.05) as client:
        assert client.stats.polling
    assert not client.stats.polling
    assert not client._poller._thread.is_alive()
    assert not client._sender._thread.is_alive()
    assert client.variation("llm-model", ALICE, "x") == "gpt-4-turbo"  # still evaluates


# --- the server's poll_interval hint (a flag under a rollout plan) ----------------------------
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (2, 2.0),
        (2.5, 2.5),
        (0.1, 1.0),
        (0, None),
        (-3, None),
        ("2", None),
        (True, None),
        (float("inf"), None),
        (float("nan"), None),
        (None, None),
    ],
)
def test_the_hint_is_read_defensively(value: object, expected: float | None) -> None:
    assert poll_hint({"flags": {}, "poll_interval": value}) == expected


def test_while_the_ruleset_carries_a_hint_the_client_polls_that_often(
    fake: FakeServer, make_client: Callable[..., Client]
) -> None:
    fake.ruleset = {**sample_ruleset(version=2), "poll_interval": 1}
    client = make_client(fake.url, poll_interval=30.0, poll_jitter=0.0)
    poller = client._poller
    assert poller is not None and poller.current_interval == 1.0
    # Two more polls within 3 s although the client was told 30 s.
    wait_for(lambda: client.stats.poll_not_modified >= 2, timeout=3.5)
    # The plan ends: the next ruleset has no hint, and the client's own interval is back.
    fake.ruleset = sample_ruleset(version=3)
    wait_for(lambda: client.stats.ruleset_version == 3, timeout=3.5)
    assert poller.current_interval == 30.0


def test_a_hint_never_lengthens_the_clients_interval(
    fake: FakeServer, make_client: Callable[..., Client]
) -> None:
    fake.ruleset = {**sample_ruleset(version=2), "poll_interval": 60}
    client = make_client(fake.url, poll_interval=0.2)
    poller = client._poller
    assert poller is not None and poller.current_interval == 0.2
