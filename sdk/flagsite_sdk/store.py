"""The last known good ruleset on disk: written atomically after every change the SDK receives,
read at start when the server cannot be reached (a cold start during an outage), and bootstrap
files and dicts."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("flagsite_sdk")

CACHE_FORMAT = "flagsite-sdk-cache/1"

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class Snapshot:
    """A ruleset as received: its JSON, the server's ETag, and when it was fetched."""

    data: Mapping[str, Any]
    etag: str | None = None
    fetched_at: float | None = None


def cache_write(path: PathLike, snapshot: Snapshot) -> None:
    """Replace the cache file in one step: a reader (another process starting up) sees the old
    file or the new one, never half of one. Write to a temporary file in the same directory,
    fsync, then os.replace (atomic on POSIX and Windows)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": CACHE_FORMAT,
        "etag": snapshot.etag,
        "fetched_at": snapshot.fetched_at if snapshot.fetched_at is not None else time.time(),
        "ruleset": snapshot.data,
    }
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(payload, fh, separators=(",", ":"))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def snapshot_read(path: PathLike) -> Snapshot:
    """Read a cache file written by `cache_write`, or a plain ruleset JSON file (what
    `GET /api/v1/sdk/ruleset` returns, e.g. saved with curl for a bootstrap).

    Raises OSError when unreadable and ValueError when it is not one of those shapes.
    """
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    return snapshot_from_data(data)


def snapshot_from_data(data: Any) -> Snapshot:
    if not isinstance(data, Mapping):
        raise ValueError("a ruleset must be a JSON object")
    if data.get("format") == CACHE_FORMAT:
        ruleset = data.get("ruleset")
        if not isinstance(ruleset, Mapping):
            raise ValueError("the cache file holds no ruleset")
        etag = data.get("etag")
        fetched = data.get("fetched_at")
        return Snapshot(
            ruleset,
            etag if isinstance(etag, str) else None,
            float(fetched) if isinstance(fetched, int | float) else None,
        )
    if "flags" not in data:
        raise ValueError("not a ruleset: no 'flags'")
    return Snapshot(data)


def cache_try_read(path: PathLike) -> Snapshot | None:
    """The cached snapshot, or None (logged) when there is none or it is unreadable."""
    try:
        return snapshot_read(path)
    except FileNotFoundError:
        log.info("flagsite: no ruleset cache file at %s yet", path)
    except (OSError, ValueError) as exc:
        log.warning("flagsite: ignoring unreadable ruleset cache %s: %s", path, exc)
    return None
