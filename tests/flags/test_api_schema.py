"""OpenAPI 3 schema, the self-hosted docs page, and schemathesis against a live server."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from flags.api.tokens import personal_token_create
from flags.demo import DEMO_SERVER_KEY
from tests.flags.test_api_support import _fresh_key_cache  # noqa: F401


@pytest.mark.django_db
def test_schema_lists_every_endpoint(client: Any) -> None:
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/api/v1/sdk/ruleset",
        "/api/v1/evaluate",
        "/ofrep/v1/evaluate/flags/{key}",
        "/ofrep/v1/evaluate/flags",
        "/api/v1/flags",
        "/api/v1/flags/{key}/environments/{env}/toggle",
        "/api/v1/versions/{id}/rollback",
        "/api/v1/segments",
        "/api/v1/imports/unleash",
        "/api/v1/imports/{token}",
        "/api/v1/imports/{token}/apply",
    ):
        assert path in paths, path
    schemes = response.json()["components"]["securitySchemes"]
    assert {"ApiKeyBearer", "ApiKeyHeader", "PersonalToken"} <= set(schemes)


@pytest.mark.django_db
def test_docs_page_loads_no_assets_from_a_cdn(client: Any) -> None:
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/" in html
    for cdn in ("cdn.jsdelivr", "unpkg.com", "cdnjs", "googleapis"):
        assert cdn not in html


@pytest.fixture
def schema_and_headers(
    live_server: Any, transactional_db: Any, demo: Any, admin_user: Any
) -> tuple[Any, dict[str, str]]:
    _, token = personal_token_create(user=admin_user, name="schemathesis")
    schema = schemathesis.from_uri(
        f"{live_server.url}/api/schema/?format=json", base_url=live_server.url
    )
    # Both credentials on every call: delivery endpoints read X-API-Key, management the token.
    return schema, {"X-API-Key": DEMO_SERVER_KEY, "Authorization": f"Token {token}"}


def test_schemathesis_finds_no_5xx_and_responses_conform(
    schema_and_headers: tuple[Any, dict[str, str]],
) -> None:
    schema, headers = schema_and_headers
    checks = (not_a_server_error, response_schema_conformance, content_type_conformance)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            response = case.call(headers=headers, timeout=30)
            case.validate_response(response, checks=checks)

        try:
            run()
        except Exception as exc:  # collect all operations' failures, then report them together
            failures.append(f"{operation.verbose_name}: {str(exc)[:2000]}")
    assert not failures, "\n\n".join(failures)


def test_the_schema_generates_without_warnings(tmp_path: Any) -> None:
    """Every API view is described (none silently left out of /api/schema/)."""
    from django.core.management import call_command

    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    for path in ("/api/v1/evaluate", "/api/v1/events", "/api/v1/feedback", "/ofrep/v1/"):
        assert path in text


@pytest.mark.django_db
def test_events_schema_describes_each_event_type(client: Any) -> None:
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    components = schema["components"]["schemas"]
    body = schema["paths"]["/api/v1/events"]["post"]["requestBody"]["content"]["application/json"]
    batch = components[body["schema"]["$ref"].rsplit("/", 1)[1]]
    event = components[batch["properties"]["events"]["items"]["$ref"].rsplit("/", 1)[1]]
    mapping = event["discriminator"]["mapping"]
    assert event["discriminator"]["propertyName"] == "type"
    assert set(mapping) == {"exposure", "llm_call", "implicit", "score"}

    def fields(kind: str) -> dict[str, Any]:
        component = components[mapping[kind].rsplit("/", 1)[1]]
        return {"required": set(component["required"]), **component["properties"]}

    llm = fields("llm_call")
    assert {"id", "type", "model"} <= llm["required"]
    assert llm["cached_input_tokens"]["type"] == "integer"
    assert llm["cached_input_tokens"]["minimum"] == 0
    assert llm["prompt_hash"]["pattern"] == "^[A-Za-z0-9_.:+/=-]{1,128}$"
    assert llm["flags"]["type"] == "object"
    assert {"flag", "variant", "user_key"} <= fields("exposure")["required"]
    assert {"conversation_id", "signal"} <= fields("implicit")["required"]
    score = fields("score")
    assert {"name", "value", "source"} <= score["required"]
    source = score["source"]
    if "$ref" in source:  # drf-spectacular names enums as their own components
        source = components[source["$ref"].rsplit("/", 1)[1]]
    assert set(source["enum"]) == {"llm-judge", "heuristic", "human"}


def test_it_plans_the_import_example_and_the_answers_conform(
    schema_and_headers: tuple[Any, dict[str, str]],
) -> None:
    """Generated bodies rarely make a valid Unleash document: the documented example does, so
    the 201, the GET and the 202 are checked against the schema too."""
    from imports.api import EXAMPLE

    schema, headers = schema_and_headers
    checks = (not_a_server_error, response_schema_conformance, content_type_conformance)
    case = schema["/api/v1/imports/unleash"]["POST"].make_case(body=EXAMPLE.value)
    response = case.call(headers=headers, timeout=30)
    assert response.status_code == 201, response.text
    case.validate_response(response, checks=checks)
    token = response.json()["token"]
    for path, method, status in (
        ("/api/v1/imports/{token}", "GET", 200),
        ("/api/v1/imports/{token}/apply", "POST", 202),
    ):
        extra = {"body": {"comment": "schema"}} if method == "POST" else {}
        case = schema[path][method].make_case(path_parameters={"token": token}, **extra)
        response = case.call(headers=headers, timeout=30)
        assert response.status_code == status, response.text
        case.validate_response(response, checks=checks)
