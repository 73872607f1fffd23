from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from flags.changes import Actor
from flags.models import Environment
from flags.unleash_import import unleash_import
from flags.validation import ConfigError
from imports.source import ImportInputError, import_source_read


class Command(BaseCommand):
    help = (
        "Import Unleash features (the client API JSON: {features, segments}) into one "
        "environment. Imported rollouts keep Unleash's bucketing, so users keep their variants."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="Unleash client API JSON (GET /api/client/features)")
        parser.add_argument("--environment", required=True, help="environment key to configure")
        parser.add_argument(
            "--dry-run", action="store_true", help="list what would be created, change nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        try:
            # The same reading and checks as the import page and the API (imports/source.py:
            # size, JSON depth, shape, number of features and segments, storable text).
            data = import_source_read(path.read_bytes(), field="file")
        except FileNotFoundError:
            raise CommandError(f"{path}: no such file") from None
        except ImportInputError as exc:
            raise CommandError(f"{path}: {exc.message}") from None
        try:
            env = Environment.objects.get(key=options["environment"])
        except Environment.DoesNotExist:
            known = ", ".join(Environment.objects.values_list("key", flat=True)) or "none"
            raise CommandError(
                f"No environment {options['environment']!r}. Known environments: {known}."
            ) from None
        try:
            plan = unleash_import(
                data=data,
                environment=env,
                actor=Actor(label="import_unleash"),
                dry_run=options["dry_run"],
            )
        except ConfigError as exc:
            raise CommandError(f"Nothing was imported: {exc}") from None
        for line in plan.lines(env.key):
            self.stdout.write(("would " if options["dry_run"] else "") + line)
        verb = "Would import" if options["dry_run"] else "Imported"
        self.stdout.write(
            self.style.SUCCESS(
                f"{verb} {len(plan.configure_flags)} flags and "
                f"{len(plan.create_segments) + len(plan.update_segments)} segments into {env.key}."
            )
        )
