"""Every delivery test's `client` answers through the WSGI lane (delivery/wsgilane.py) first,
as `flagsite.wsgi.application` does under gunicorn, then through Django's stack: the existing
delivery tests run against whichever path answers."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.handlers.wsgi import WSGIRequest
from django.http import HttpResponse
from django.test import Client
from django.test.client import ClientHandler

from delivery.wsgilane import CAPTURE, lane


class LaneClientHandler(ClientHandler):
    """Django's test handler behind the WSGI lane. `answered` counts the lane's answers."""

    answered = 0

    def __call__(self, environ: dict[str, Any]) -> Any:
        answer = lane.answer(environ)
        if answer is not None:
            LaneClientHandler.answered += 1
            return lane_response(environ, *answer)
        response = super().__call__(environ)
        if CAPTURE in environ:
            status = f"{response.status_code} {response.reason_phrase}"
            lane.learn(environ, status, list(response.items()))
        return response


class _LaneResponse(HttpResponse):
    wsgi_request: WSGIRequest  # as on the test client's responses


def lane_response(
    environ: dict[str, Any], status: str, headers: list[tuple[str, str]], body: bytes
) -> Any:
    """The lane's answer as the test client's response object: these headers and no others."""
    response = _LaneResponse(body, status=int(status[:3]))
    response.headers._store = {name.lower(): (name, value) for name, value in headers}
    response.wsgi_request = WSGIRequest(environ)
    return response


@pytest.fixture
def client() -> Client:
    client = Client()
    client.handler = LaneClientHandler()
    return client
