from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from flags.changes import Actor
from flags.models import Environment
from flags.unleash_import import unleash_import
from flags.validation import ConfigError
from flagsite.jsonbody import JsonInputError, JsonTooDeep, json_parse


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
            data = json_parse(path.read_bytes())
        except FileNotFoundError:
            raise CommandError(f"{path}: no such file") from None
        except JsonTooDeep as exc:
            raise CommandError(f"{path}: {exc.message}") from None
        except JsonInputError as exc:
            raise CommandError(f"{path}: not valid JSON ({exc.message})") from None
        if not isinstance(data, dict) or not isinstance(data.get("features"), list):
            raise CommandError(f"{path}: expected an object with a 'features' list")
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
