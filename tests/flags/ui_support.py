"""Shared setup for the admin UI's view tests: environments, a flag, logged-in clients."""

from __future__ import annotations

from typing import Any

from django.test import Client

from flags.models import Environment, Flag
from tests.flags.builders import bool_flag, environments


def setup_flag(key: str = "new-checkout") -> tuple[Flag, Environment, Environment]:
    dev, prod = environments()
    return bool_flag(key), dev, prod


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


# Passed as the test client's typed `headers=` (not unpacked into `**extra`, where a str-valued
# dict could land on its `follow`/`secure` parameters as far as mypy knows).
HTMX = {"HX-Request": "true"}
