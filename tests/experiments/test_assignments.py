"""experiments/assignments.py `assignments_refresh`: incremental (only changed units written),
and the same rows as a rebuild from the exposures, after late and removed exposures."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from experiments.assignments import assignments_refresh
from experiments.models import Assignment, Experiment
from feedback.models import Exposure
from tests.experiments.builders import running_experiment


def _expose(experiment: Experiment, unit: str, variant: str, at: datetime) -> None:
    Exposure.objects.create(
        environment=experiment.environment,
        event_id=f"{unit}-{variant}-{at.timestamp()}",
        timestamp=at,
        received_at=timezone.now(),
        flag_key=experiment.flag.key,
        variant_key=variant,
        user_key=unit,
        experiment_key=experiment.key,
    )


def _rebuilt(experiment: Experiment, until: datetime) -> dict[str, tuple[str, datetime, bool]]:
    """{unit: (variant, first_at, multiple)} from the exposures, in Python: the first
    exposure's variant (ties: the smallest name), multiple when seen in two variants."""
    first: dict[str, datetime] = {}
    variants: dict[str, set[str]] = defaultdict(set)
    for e in Exposure.objects.filter(experiment_key=experiment.key, timestamp__lt=until):
        first[e.user_key] = min(first.get(e.user_key, e.timestamp), e.timestamp)
        variants[e.user_key].add(e.variant_key)
    out = {}
    for unit, at in first.items():
        earliest = Exposure.objects.filter(
            experiment_key=experiment.key, user_key=unit, timestamp=at
        )
        variant = min(e.variant_key for e in earliest)
        out[unit] = (variant, at, len(variants[unit]) > 1)
    return out


def _stored(experiment: Experiment) -> dict[str, Any]:
    return {
        a.unit: (a.variant, a.first_at, a.multiple, a.first_epoch, a.pk)
        for a in Assignment.objects.filter(experiment=experiment)
    }


def _same(experiment: Experiment, until: datetime) -> None:
    stored = _stored(experiment)
    assert {u: s[:3] for u, s in stored.items()} == _rebuilt(experiment, until)
    for _, first_at, _, epoch, _ in stored.values():
        assert epoch == pytest.approx(first_at.timestamp())


@pytest.mark.django_db
def test_a_refresh_writes_only_what_changed_and_matches_a_rebuild(demo: Any) -> None:
    # Given an experiment whose units were assigned once
    experiment = running_experiment()
    t0 = timezone.now() - timedelta(hours=5)
    control, treatment = experiment.variants[:2]
    for i, unit in enumerate(["u1", "u2", "u3", "u4", "u5"]):
        _expose(experiment, unit, control if i % 2 else treatment, t0 + timedelta(minutes=i))
    until = timezone.now()
    assignments_refresh(experiment, until=until)
    _same(experiment, until)
    before = _stored(experiment)

    # When exposures arrive late (earlier than the stored first one, in the other variant or
    # the same), a new unit appears, one unit's exposures are removed, one arrives after until
    _expose(experiment, "u1", control, t0 - timedelta(hours=1))  # u1 was treatment: multiple
    _expose(experiment, "u2", control, t0 - timedelta(hours=1))  # same variant, earlier
    _expose(experiment, "u6", treatment, t0 + timedelta(hours=1))
    Exposure.objects.filter(experiment_key=experiment.key, user_key="u5").delete()
    _expose(experiment, "u7", treatment, until + timedelta(seconds=1))
    assignments_refresh(experiment, until=until)

    # Then the rows are those a rebuild gives, and the unchanged units kept their rows
    _same(experiment, until)
    after = _stored(experiment)
    assert after["u1"][:3] == (control, t0 - timedelta(hours=1), True)
    assert after["u2"][:3] == (control, t0 - timedelta(hours=1), False)
    assert "u5" not in after and "u7" not in after and "u6" in after
    for unit in ("u1", "u2", "u3", "u4"):
        assert after[unit][4] == before[unit][4]  # updated in place, not reinserted
    assert after["u3"] == before["u3"] and after["u4"] == before["u4"]

    # And an earlier `until` (a stopped experiment) drops the units first exposed after it
    earlier = t0 + timedelta(minutes=2, seconds=30)
    assignments_refresh(experiment, until=earlier)
    _same(experiment, earlier)
    assert set(_stored(experiment)) == {"u1", "u2", "u3"}
