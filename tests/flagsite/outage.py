"""A database that cannot be reached, for real: the connection of this thread is swapped for
one to a closed port (PostgreSQL) or an unopenable file (SQLite). Nothing of ours is mocked;
the fault is at the connection edge, where an outage shows up."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connections


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def database_unreachable(alias: str = "default") -> Iterator[None]:
    real = connections[alias]
    settings_dict = dict(real.settings_dict)
    if real.vendor == "postgresql":
        settings_dict.update(HOST="127.0.0.1", PORT=str(_closed_port()))
    else:
        settings_dict["NAME"] = "/nonexistent-flagsite-dir/unreachable.sqlite3"
    broken = real.__class__(settings_dict, alias)
    connections[alias] = broken
    try:
        yield
    finally:
        connections[alias] = real
        broken.close()
