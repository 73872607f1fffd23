from typing import Any

from django.core.management.base import BaseCommand

from flags.demo import demo_data_load


class Command(BaseCommand):
    help = "Load the demo environments, flags, segments, users and development keys (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        info = demo_data_load()
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        self.stdout.write(f"  login:       {info['username']} / {info['password']}")
        self.stdout.write(f"  server key:  {info['server_key']}  (development)")
        self.stdout.write(f"  client key:  {info['client_key']}  (development)")
