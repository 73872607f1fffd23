"""A NUL in a UI URL's key is a 404, never a 500 (PostgreSQL refuses NUL in text parameters)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from django.test import Client
from django.urls import URLPattern

from flags import ui_urls
from tests.services import postgres_url

VALID = {"key": "llm-model", "env": "development"}


def _key_routes() -> list[tuple[str, str]]:
    """(route, parameter) for every UI route that takes a key, and each key parameter in it."""
    found = []
    for pattern in ui_urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        converters = pattern.pattern.converters
        for name in converters:
            if name in VALID:
                found.append((str(pattern.pattern), name))
    return found


KEY_ROUTES = _key_routes()


def test_every_key_route_is_covered() -> None:
    assert len(KEY_ROUTES) >= 9
    assert {param for _, param in KEY_ROUTES} == {"key", "env"}


def _url(route: str, nul_in: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        return quote("a\x00b") if name == nul_in else VALID[name]

    return "/" + re.sub(r"<\w+:(\w+)>", value, route)


def test_nul_in_a_key_is_404_on_postgres(client: Client, demo: Any, admin_user: Any) -> None:
    postgres_url()
    client.force_login(admin_user)
    client.raise_request_exception = False
    answers = {}
    for route, param in KEY_ROUTES:
        url = _url(route, param)
        answers[url] = (client.get(url).status_code, client.post(url, {"comment": "x"}).status_code)
    assert answers == dict.fromkeys(answers, (404, 404))


def test_keys_still_reach_their_pages(client: Client, demo: Any, admin_user: Any) -> None:
    client.force_login(admin_user)
    assert client.get("/flags/llm-model/").status_code == 200
    assert client.get("/flags/llm-model/history/").status_code == 200
    assert client.get("/segments/internal-users/").status_code == 200
