from django.apps import AppConfig


class ExperimentsConfig(AppConfig):
    name = "experiments"
    verbose_name = "Experiments"

    def ready(self) -> None:
        # Server-side evaluations an experiment's rule served become Exposure rows, written by
        # the one batched recorder's flush (delivery/exposures.py), never per request.
        from delivery.exposures import exposure_unit_sink_set

        from .exposures import experiment_exposures_store

        exposure_unit_sink_set(experiment_exposures_store)
