from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from flags.demo import DEMO_PASSWORD, demo_data_load
from flags.demo_telemetry import demo_telemetry_load

FORCE = "--i-know-this-is-not-production"


class Command(BaseCommand):
    help = (
        "Load the demo environments, flags, segments, users, development keys and 30 days of LLM "
        "call telemetry and feedback (idempotent). "
        f"Only with DEBUG on, or with {FORCE}: it creates the superuser admin with a published "
        "password and API keys anyone can read in the docs."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            FORCE,
            action="store_true",
            dest="not_production",
            help="Load it although DEBUG is off (a lab or a benchmark, never production).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["not_production"]:
            raise CommandError(
                "Refusing to load the demo data: DEBUG is off, so this may be production. The demo "
                f"data creates the superuser admin with the published password {DEMO_PASSWORD!r}, "
                "users editor and viewer, and well-known development API keys. On a development "
                f"machine run it with DEBUG=true (make run does); for a throwaway lab pass {FORCE}."
            )
        info = demo_data_load()
        from experiments.demo import demo_experiment_load

        demo_experiment_load()
        added = demo_telemetry_load()
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        self.stdout.write(f"  login:       {info['username']} / {info['password']}")
        self.stdout.write(f"  server key:  {info['server_key']}  (development)")
        self.stdout.write(f"  client key:  {info['client_key']}  (development)")
        self.stdout.write("  experiment:  /experiments/prompt-v2/ (running, results computed)")
        if added["llm_calls"]:
            self.stdout.write(
                f"  telemetry:   {added['llm_calls']} LLM calls and {added['feedback']} feedback "
                "rows over the last 30 days (development, production)"
            )
