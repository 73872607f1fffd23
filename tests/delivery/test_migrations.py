"""ApiKey moved from `flags` to `delivery` with its table: a database at the old schema keeps its
keys (and their admin content type) through the migration, and the move can be undone."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("flags", "0003_flag_keys_any_case"), ("contenttypes", "0002_remove_content_type_name")]
AFTER = [("flags", "0004_apikey_moved_to_delivery"), ("delivery", "0001_initial")]


def _migrate(targets: list[tuple[str, str]], *, unapply: tuple[str, ...] = ()) -> Any:
    executor = MigrationExecutor(connection)
    executor.migrate(targets + [(app, None) for app in unapply])
    executor.loader.build_graph()
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_keys_survive_the_move_to_the_delivery_app() -> None:
    # Given a database at the schema before the move, with a key and its content type
    old = _migrate(BEFORE, unapply=("delivery",))
    Environment = old.get_model("flags", "Environment")
    OldKey = old.get_model("flags", "ApiKey")
    ContentType = old.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="delivery").delete()  # the test database has it already
    ContentType.objects.get_or_create(app_label="flags", model="apikey")
    env = Environment.objects.create(key="moved", name="Moved")
    OldKey.objects.create(environment=env, kind="client", name="web", key_hash="h" * 64, hint="x")
    try:
        # When it migrates
        new = _migrate(AFTER)
        # Then the same row is the delivery app's, in the same table
        NewKey = new.get_model("delivery", "ApiKey")
        assert NewKey._meta.db_table == "flags_apikey"
        assert NewKey.objects.get(key_hash="h" * 64).environment_id == env.pk
        ContentType = new.get_model("contenttypes", "ContentType")
        assert ContentType.objects.filter(app_label="delivery", model="apikey").exists()
        assert not ContentType.objects.filter(app_label="flags", model="apikey").exists()
        # And going back puts it where it was
        back = _migrate(BEFORE, unapply=("delivery",))
        assert back.get_model("flags", "ApiKey").objects.filter(key_hash="h" * 64).exists()
    finally:
        # Leave the database as every other test expects it: at the latest migration of every
        # app (later migrations, e.g. delivery 0002, were unapplied with "delivery").
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
