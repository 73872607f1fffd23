from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from delivery.keys import api_key_create
from delivery.models import ApiKey
from flags.changes import Actor
from flags.models import Environment


class Command(BaseCommand):
    help = "Create an API key for an environment and print it (it is not shown again)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--environment", required=True, help="environment key")
        parser.add_argument("--kind", required=True, choices=[k.value for k in ApiKey.Kind])
        parser.add_argument("--name", default="created from the command line")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            env = Environment.objects.get(key=options["environment"])
        except Environment.DoesNotExist:
            known = ", ".join(Environment.objects.values_list("key", flat=True)) or "none"
            raise CommandError(
                f"No environment {options['environment']!r}. Known environments: {known}."
            ) from None
        _, raw = api_key_create(
            environment=env,
            kind=options["kind"],
            name=options["name"],
            actor=Actor(label="manage.py create_api_key"),
        )
        self.stdout.write(raw)
