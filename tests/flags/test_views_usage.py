"""Usage on the flag page and the dashboard: evaluations per variant per environment from both
sources (server-side counts + SDK exposures), last evaluated, and flags nobody evaluates."""

from __future__ import annotations

import re
from datetime import UTC, timedelta
from itertools import count
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone

from delivery.exposures import exposure_record, exposures_flush
from delivery.models import EvaluationCount
from feedback.models import Exposure, LlmCall
from feedback.usage import PERIODS, bucket_starts, flag_usage, last_evaluated
from flags.models import Flag
from tests.flags.ui_support import client_for, setup_flag

pytestmark = pytest.mark.django_db
_ids = count()


def sdk_exposure(env: Any, flag: str, variant: str, when: Any, user: str = "u") -> None:
    Exposure.objects.create(
        environment=env,
        event_id=f"x{next(_ids)}",
        timestamp=when,
        received_at=when,
        flag_key=flag,
        variant_key=variant,
        user_key=user,
    )


def server_count(env: Any, flag: str, variant: str, when: Any, n: int) -> None:
    hour = when.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    EvaluationCount.objects.create(
        environment=env, flag_key=flag, variant_key=variant, hour=hour, count=n, last_at=when
    )


def _number(html: str, attr: str) -> str:
    match = re.search(rf'{attr}">([^<]*)<', html)
    assert match, attr
    return match.group(1).strip()


def test_usage_adds_server_counts_and_sdk_exposures_per_bucket(admin_user: Any) -> None:
    flag, dev, prod = setup_flag()
    now = timezone.now()
    # Given: 5 recorded server evaluations of "on" in dev now, 2 SDK exposures an hour ago,
    # 3 server evaluations of "off" two days ago (outside 24 h, inside 7 d), 1 in prod
    for _ in range(5):
        exposure_record(dev.id, flag.key, "on")
    exposures_flush()
    sdk_exposure(dev, flag.key, "on", now - timedelta(hours=1))
    sdk_exposure(dev, flag.key, "on", now - timedelta(hours=1), user="v")
    server_count(dev, flag.key, "off", now - timedelta(days=2), 3)
    sdk_exposure(prod, flag.key, "off", now - timedelta(minutes=5))
    ids = [dev.id, prod.id]
    day = flag_usage(flag.key, environment_ids=ids, period=PERIODS["24h"], now=now)
    assert day[dev.id].series["on"][-1] == 5 and day[dev.id].series["on"][-2] == 2
    assert day[dev.id].totals == {"on": 7}
    assert day[prod.id].totals == {"off": 1}
    week = flag_usage(flag.key, environment_ids=ids, period=PERIODS["7d"], now=now)
    assert week[dev.id].totals == {"on": 7, "off": 3}
    assert len(week[dev.id].series["off"]) == 7
    assert sum(week[dev.id].series["off"][-3:]) == 3


def test_buckets_are_whole_utc_hours_or_days() -> None:
    now = timezone.now()
    hours = bucket_starts(PERIODS["24h"], now)
    assert len(hours) == 24 and hours[-1] <= now < hours[-1] + timedelta(hours=1)
    days = bucket_starts(PERIODS["30d"], now)
    assert len(days) == 30 and days[-1].hour == 0 and days[0] == days[-1] - timedelta(days=29)


def test_last_evaluated_is_the_latest_of_both_sources(admin_user: Any) -> None:
    flag, dev, prod = setup_flag()
    now = timezone.now()
    server_count(dev, flag.key, "on", now - timedelta(hours=3), 1)
    sdk_exposure(dev, flag.key, "on", now - timedelta(hours=1))
    server_count(prod, flag.key, "on", now - timedelta(minutes=10), 4)
    sdk_exposure(prod, flag.key, "on", now - timedelta(hours=2))
    last = last_evaluated([flag.key])
    assert last[(flag.key, dev.id)] == now - timedelta(hours=1)
    assert last[(flag.key, prod.id)] == now - timedelta(minutes=10)


def test_the_usage_tab_shows_counts_last_evaluated_and_outcomes(admin_user: Any) -> None:
    flag, dev, _ = setup_flag()
    now = timezone.now()
    server_count(dev, flag.key, "on", now - timedelta(hours=2), 40)
    sdk_exposure(dev, flag.key, "off", now - timedelta(hours=1))
    for i, error in enumerate([True, False, False, False]):
        LlmCall.objects.create(
            environment=dev,
            event_id=f"c{i}",
            timestamp=now - timedelta(minutes=i + 1),
            received_at=now,
            model="m",
            flags={flag.key: "on"},
            error=error,
            latency_ms=100.0 * (i + 1),
        )
    html = (
        client_for(admin_user).get(f"/flags/{flag.key}/usage/?period=24h&env=dev").content.decode()
    )
    assert _number(html, 'data-usage="dev:on') == "40"
    assert _number(html, 'data-usage="dev:off') == "1"
    assert _number(html, 'data-total="dev') == "41"
    assert "<svg" in html and 'class="series-0"' in html
    assert 'data-last="prod">never' in html
    assert _number(html, 'data-outcome="on:error_rate') == "25.0 %"
    assert _number(html, 'data-outcome="on:p95_latency_ms') == "400 ms"
    assert _number(html, 'data-outcome="off:error_rate') == "—"


def test_the_dashboard_lists_flags_nobody_evaluated_for_30_days(admin_user: Any) -> None:
    flag, dev, _ = setup_flag()
    recent = Flag.objects.create(
        key="recently-used", name="r", kind="boolean", variants=flag.variants
    )
    young = Flag.objects.create(key="brand-new", name="b", kind="boolean", variants=flag.variants)
    old = timezone.now() - timedelta(days=40)
    Flag.objects.filter(pk__in=[flag.pk, recent.pk]).update(created_at=old)
    sdk_exposure(dev, "recently-used", "on", timezone.now() - timedelta(days=2))
    html = client_for(admin_user).get("/").content.decode()
    assert 'data-unused="new-checkout"' in html
    assert 'data-unused="recently-used"' not in html
    assert 'data-unused="brand-new"' not in html  # younger than the window
    assert re.search(r'data-last-evaluated="recently-used">evaluated <time', html)
    assert "new-checkout" in client_for(admin_user).get("/?status=stale").content.decode()
    assert young.key not in client_for(admin_user).get("/?status=stale").content.decode()
    # The window is a setting
    with override_settings(FLAGSITE_STALE_EVALUATION_DAYS=60):
        html = client_for(admin_user).get("/").content.decode()
    assert 'data-unused="new-checkout"' not in html
