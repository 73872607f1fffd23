"""An experiment end to end in the browser: create it with the form, start it, simulate traffic,
press "Refresh now" so a real Celery worker (subprocess, Redis broker, PostgreSQL) computes the
results, and read the results page: summary, metric table, SVG forest plot, guardrails."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from tests.browser import login, screenshot
from tests.e2e.ui_support import DEMO_PASSWORD, site  # noqa: F401
from tests.services import postgres_url, redis_url

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def worker(transactional_db: Any, tmp_path: Path) -> Any:
    postgres_url()
    redis = redis_url()
    db = connection.settings_dict
    db_url = (
        f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}"
        f":{db['PORT'] or 5432}/{db['NAME']}"
    )
    env = os.environ | {
        "DATABASE_URL": db_url,
        "REDIS_URL": redis,
        "CELERY_BROKER_URL": redis,
        "FLAGSITE_VAR_DIR": str(tmp_path),
    }
    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "flagsite", "worker", "--pool=solo",
         "--loglevel=info", "--without-heartbeat", "--without-gossip", "--without-mingle"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    yield proc
    proc.terminate()
    proc.wait(timeout=20)
    log.close()


def test_create_simulate_compute_and_read_an_experiment(
    page: Any,
    site: str,  # noqa: F811
    worker: Any,
    settings: Any,
) -> None:
    from playwright.sync_api import expect

    from experiments.models import Experiment, ExperimentResult
    from experiments.simulate import traffic_simulate

    settings.CELERY_BROKER_URL = redis_url()
    login(page, site, "admin", DEMO_PASSWORD)
    # Given an experiment created with the form and started
    page.goto(f"{site}/experiments/new")
    page.fill("#id_key", "browser-test")
    page.fill("#id_name", "Turbo in the browser")
    page.select_option("#id_flag", "llm-model")
    page.select_option("#id_environment", "development")
    page.fill("#id_control", "gpt-4")
    page.fill("#id_treatments", "gpt-4-turbo")
    page.select_option("#id_primary_metric", "thumbs_up_rate")
    page.check("input[name=secondary_metrics][value=cost_per_query]")
    expect(page.locator("#power-units")).to_be_visible()  # the power calculator (htmx)
    page.get_by_role("button", name="Create draft").click()
    page.wait_for_url("**/experiments/browser-test/")
    page.get_by_role("button", name="Start").click()
    expect(page.locator(".exp-status-running").first).to_be_visible()
    # When traffic arrives and someone presses "Refresh now"
    experiment = Experiment.objects.get(key="browser-test")
    traffic_simulate(experiment=experiment, users=600, seed=9)
    page.get_by_role("button", name="Refresh now").click()
    # Then the real worker computes a snapshot
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not ExperimentResult.objects.exists():
        assert worker.poll() is None, "the worker died; see worker.log"
        time.sleep(0.5)
    assert ExperimentResult.objects.filter(experiment=experiment).exists()
    # And the results page shows it
    page.goto(f"{site}/experiments/browser-test/")
    expect(page.locator("#exp-summary")).to_contain_text("thumbs-up rate")
    expect(page.locator("#exp-metrics")).to_contain_text("Cost per query")
    expect(page.locator("#exp-forest circle").first).to_be_visible()
    expect(page.locator(".exp-guardrails li").first).to_be_visible()
    screenshot(page, "experiment-results")
    # And with that traffic, the create form's power calculator sizes the next experiment from
    # the observed variance and fills the target units (htmx, out of band)
    page.goto(f"{site}/experiments/new")
    page.select_option("#id_flag", "llm-model")
    page.select_option("#id_environment", "development")
    page.fill("#id_treatments", "gpt-4-turbo")
    page.select_option("#id_primary_metric", "thumbs_up_rate")
    page.fill("#id_mde_percent", "10")
    page.locator("#id_mde_percent").dispatch_event("change")
    expect(page.locator("#power-units")).to_have_text(re.compile(r"^\d+$"))
    units = page.locator("#power-units").inner_text()
    expect(page.locator("#id_target_units_per_variant")).to_have_value(units)
    expect(page.locator("#power-days")).to_contain_text("day")
    # And bad input gets the view's 400 fragment next to the calculator (htmx ignores error
    # responses unless told: static/ui/app.js swaps them into targets marked data-swap-errors)
    page.fill("#id_mde_percent", "0")
    page.locator("#id_mde_percent").dispatch_event("change")
    error = page.locator("#power-calc p.error[role=alert]")
    expect(error).to_contain_text("mde_percent")
    expect(error).to_contain_text("must be between 0 and 1000")
    expect(page.locator("#power-units")).to_have_count(0)
    page.fill("#id_mde_percent", "10")
    page.locator("#id_mde_percent").dispatch_event("change")
    expect(page.locator("#power-units")).to_have_text(re.compile(r"^\d+$"))
    expect(error).to_have_count(0)
