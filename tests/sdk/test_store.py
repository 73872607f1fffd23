from __future__ import annotations

import json
from pathlib import Path

from flagsite_sdk.store import CACHE_FORMAT, Snapshot, cache_try_read, cache_write, snapshot_read

from tests.sdk.builders import sample_ruleset


def test_cache_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "flagsite-ruleset.json"
    snapshot = Snapshot(sample_ruleset(version=3), '"abc"', 1234.5)
    cache_write(path, snapshot)
    assert snapshot_read(path) == snapshot
    assert json.loads(path.read_text())["format"] == CACHE_FORMAT


def test_cache_write_replaces_atomically_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    path = tmp_path / "cache.json"
    for version in range(5):
        cache_write(path, Snapshot(sample_ruleset(version=version), f'"{version}"'))
    assert [p.name for p in tmp_path.iterdir()] == ["cache.json"]
    read = snapshot_read(path)
    assert read.data["version"] == 4 and read.etag == '"4"'


def test_a_plain_ruleset_file_reads_as_a_snapshot(tmp_path: Path) -> None:
    path = tmp_path / "ruleset.json"
    path.write_text(json.dumps(sample_ruleset()))
    assert snapshot_read(path) == Snapshot(sample_ruleset())


def test_unreadable_cache_files_are_ignored(tmp_path: Path) -> None:
    assert cache_try_read(tmp_path / "missing.json") is None
    (tmp_path / "broken.json").write_text('{"format": "flagsite-sdk-cache/1", "ruleset": ')
    assert cache_try_read(tmp_path / "broken.json") is None
    (tmp_path / "other.json").write_text('{"hello": 1}')
    assert cache_try_read(tmp_path / "other.json") is None
