from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from experiments.compute import experiment_compute_results
from experiments.models import Experiment, Status
from experiments.simulate import Effects, traffic_simulate


class Command(BaseCommand):
    help = (
        "Write realistic, seeded events for a running experiment (users assigned by the engine, "
        "sessions, LLM calls, feedback, scores, task completions, returns) with true effects per "
        "treatment, optionally a sample ratio mismatch; then compute its results."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("experiment", help="The experiment key (it must be running).")
        parser.add_argument("--users", type=int, default=2000)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--days", type=float, default=3.0)
        parser.add_argument(
            "--srm", type=float, default=0.0, help="Share of one treatment's exposures lost (0-1)."
        )
        parser.add_argument("--thumbs-up", type=float, default=0.04, help="Absolute effect.")
        parser.add_argument("--hallucination", type=float, default=-0.012, help="Absolute effect.")
        parser.add_argument("--latency", type=float, default=1.08, help="Multiplier.")
        parser.add_argument("--tokens", type=float, default=1.08, help="Multiplier.")
        parser.add_argument("--no-compute", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        experiment = Experiment.objects.filter(key=options["experiment"]).first()
        if experiment is None or experiment.status != Status.RUNNING:
            raise CommandError(f"No running experiment {options['experiment']!r}.")
        effects = Effects(
            thumbs_up=options["thumbs_up"],
            hallucination=options["hallucination"],
            latency=options["latency"],
            tokens=options["tokens"],
        )
        done = traffic_simulate(
            experiment=experiment,
            users=options["users"],
            seed=options["seed"],
            days=options["days"],
            srm_loss=options["srm"],
            effects={t: effects for t in experiment.treatments},
        )
        self.stdout.write(
            f"{done.users} users in the experiment {done.by_variant}: {done.exposures} exposures, "
            f"{done.calls} LLM calls, {done.feedback} feedback, {done.other} other events"
        )
        if not options["no_compute"]:
            result = experiment_compute_results(experiment_id=experiment.pk, refresh=True)
            if result is not None:
                self.stdout.write(result.data["summary"])
