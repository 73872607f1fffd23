"""Issue 10: an evaluate body over the 2.5 MB limit (DATA_UPLOAD_MAX_MEMORY_SIZE) was Django's
HTML 400; every JSON endpoint now answers a JSON 413, like the ingestion endpoints."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from tests.conftest import _make_user

from .conftest import Site

pytestmark = pytest.mark.django_db

LIMIT = 2_621_440  # Django's default DATA_UPLOAD_MAX_MEMORY_SIZE
BIG = json.dumps({"context": {"key": "u", "padding": "x" * (LIMIT + 10)}})


def assert_json_413(response: Any) -> dict[str, Any]:
    assert response.status_code == 413, response.content[:200]
    assert response["Content-Type"] == "application/json"
    return dict(response.json())


@pytest.mark.parametrize("url", ["/api/v1/evaluate"])
def test_evaluate_over_the_limit_is_a_json_413(client: Client, site: Site, url: str) -> None:
    response = client.post(url, BIG, content_type="application/json", headers=site.client)
    error = assert_json_413(response)["error"]
    assert error["code"] == "too_large" and str(LIMIT) in error["message"]


@pytest.mark.parametrize("url", ["/ofrep/v1/evaluate/flags", "/ofrep/v1/evaluate/flags/x"])
def test_ofrep_over_the_limit_is_a_413_in_ofrep_shape(client: Client, site: Site, url: str) -> None:
    response = client.post(url, BIG, content_type="application/json", headers=site.client)
    body = assert_json_413(response)
    assert body["errorCode"] == "PARSE_ERROR" and str(LIMIT) in body["errorDetails"]


def test_the_management_api_over_the_limit_is_a_json_413(client: Client, site: Site) -> None:
    client.force_login(_make_user("root", "admin"))
    response = client.post("/api/v1/segments", BIG, content_type="application/json")
    assert assert_json_413(response)["error"]["code"] == "too_large"


def test_just_under_the_limit_is_evaluated(client: Client, site: Site) -> None:
    body = json.dumps({"context": {"key": "u", "padding": "x" * (LIMIT - 100)}})
    assert len(body) <= LIMIT
    response = client.post(
        "/api/v1/evaluate", body, content_type="application/json", headers=site.client
    )
    assert response.status_code == 200
