"""How much a flag is used: evaluations per environment, variant and time bucket, and when each
flag was last evaluated (docs/ui.md, "Usage").

"Evaluations" adds up the two sources that exist: server-side evaluations counted by the
exposure recorder (`delivery.EvaluationCount`, hourly rows) and the exposure events SDKs send
(`feedback.Exposure`, one row each). Both are grouped in SQL (GROUP BY environment, variant,
truncated time); only the few resulting buckets are merged in Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db.models import Count, Max, Sum
from django.db.models.functions import TruncDay, TruncHour

from delivery.models import EvaluationCount

from .models import Exposure


@dataclass(frozen=True)
class Period:
    key: str
    label: str
    buckets: int
    step: timedelta


PERIODS: dict[str, Period] = {
    "24h": Period("24h", "Last 24 hours", 24, timedelta(hours=1)),
    "7d": Period("7d", "Last 7 days", 7, timedelta(days=1)),
    "30d": Period("30d", "Last 30 days", 30, timedelta(days=1)),
}
DEFAULT_PERIOD = "7d"


def period_get(key: str | None) -> Period:
    return PERIODS.get(key or "", PERIODS[DEFAULT_PERIOD])


def bucket_starts(period: Period, now: datetime) -> list[datetime]:
    """The start of each bucket, oldest first; the last one holds `now` (UTC hours or days)."""
    now = now.astimezone(UTC)
    last = now.replace(minute=0, second=0, microsecond=0)
    if period.step >= timedelta(days=1):
        last = last.replace(hour=0)
    return [last - period.step * i for i in range(period.buckets - 1, -1, -1)]


@dataclass
class EnvUsage:
    environment_id: int
    # {variant: [count per bucket]}, buckets as `bucket_starts`
    series: dict[str, list[int]] = field(default_factory=dict)

    @property
    def totals(self) -> dict[str, int]:
        return {variant: sum(counts) for variant, counts in self.series.items()}

    @property
    def total(self) -> int:
        return sum(self.totals.values())


def flag_usage(
    flag_key: str, *, environment_ids: list[int], period: Period, now: datetime
) -> dict[int, EnvUsage]:
    """{environment id: EnvUsage} for the environments with evaluations in the period."""
    starts = bucket_starts(period, now)
    index = {start: i for i, start in enumerate(starts)}
    trunc = TruncHour if period.step < timedelta(days=1) else TruncDay
    server = (
        EvaluationCount.objects.filter(
            environment_id__in=environment_ids, flag_key=flag_key, hour__gte=starts[0]
        )
        .annotate(bucket=trunc("hour", tzinfo=UTC))
        .values("environment_id", "variant_key", "bucket")
        .annotate(n=Sum("count"))
        .order_by()
    )
    sdk = (
        # environment_id__in lets PostgreSQL use the (environment, flag, variant, time) index.
        Exposure.objects.filter(
            environment_id__in=environment_ids, flag_key=flag_key, timestamp__gte=starts[0]
        )
        .annotate(bucket=trunc("timestamp", tzinfo=UTC))
        .values("environment_id", "variant_key", "bucket")
        .annotate(n=Count("id"))
        .order_by()
    )
    out: dict[int, EnvUsage] = {}
    for row in [*server, *sdk]:
        i = index.get(row["bucket"].astimezone(UTC))
        if i is None:  # a clock ahead of ours: not in any bucket of the period
            continue
        usage = out.setdefault(row["environment_id"], EnvUsage(row["environment_id"]))
        counts = usage.series.setdefault(row["variant_key"], [0] * len(starts))
        counts[i] += int(row["n"])
    return out


def last_evaluated(
    flag_keys: list[str] | None = None, *, since: datetime | None = None
) -> dict[tuple[str, int], datetime]:
    """{(flag key, environment id): latest evaluation} from both sources, looking back to
    `since` (None: all stored history; raw exposures are kept FEEDBACK_RETENTION_DAYS)."""
    server = EvaluationCount.objects.all()
    sdk = Exposure.objects.all()
    if since is not None:
        server = server.filter(hour__gte=since - timedelta(hours=1))
        sdk = sdk.filter(timestamp__gte=since)
    if flag_keys is not None:
        server = server.filter(flag_key__in=flag_keys)
        sdk = sdk.filter(flag_key__in=flag_keys)
    out: dict[tuple[str, int], datetime] = {}
    rows = [
        *server.values("flag_key", "environment_id").annotate(at=Max("last_at")).order_by(),
        *sdk.values("flag_key", "environment_id").annotate(at=Max("timestamp")).order_by(),
    ]
    for row in rows:
        key = (row["flag_key"], row["environment_id"])
        if key not in out or row["at"] > out[key]:
            out[key] = row["at"]
    return out


def flags_last_evaluated(
    *, since: datetime | None = None, flag_keys: list[str] | None = None
) -> dict[str, datetime]:
    """{flag key: latest evaluation in any environment} (since `since`)."""
    out: dict[str, datetime] = {}
    for (flag_key, _), at in last_evaluated(flag_keys, since=since).items():
        if flag_key not in out or at > out[flag_key]:
            out[flag_key] = at
    return out
