"""Experiments in the management API (session or personal token), with their latest results;
results also as CSV (docs/api.md, "Experiments")."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from flags.api.access import ManagementView, actor_for, config_errors_as_400, parsed
from flags.api.schema_docs import SESSION_ERRORS
from flags.models import Environment, Flag

from .guardrails import GuardrailError, experiment_guardrails_update
from .lifecycle import (
    ExperimentError,
    experiment_conclude,
    experiment_create,
    experiment_srm_acknowledge,
    experiment_start,
    experiment_stop,
)
from .models import Experiment, ExperimentResult

TAGS = ["management: experiments"]


class ExperimentSerializer(serializers.ModelSerializer):
    flag = serializers.CharField(source="flag.key")
    environment = serializers.CharField(source="environment.key")
    latest_result = serializers.SerializerMethodField()

    class Meta:
        model = Experiment
        fields = [
            "key", "name", "flag", "environment", "hypothesis", "control", "treatments",
            "traffic_percentage", "salt", "primary_metric", "secondary_metrics", "guardrails",
            "correction", "sequential", "alpha", "target_units_per_variant", "status",
            "decision", "srm_acknowledged_at", "created_at", "started_at", "stopped_at",
            "concluded_at", "latest_result",
        ]  # fmt: skip

    def get_latest_result(self, experiment: Experiment) -> dict[str, Any] | None:
        if not self.context.get("with_result"):
            return None
        latest = ExperimentResult.objects.filter(experiment=experiment).first()
        if latest is None:
            return None
        return {"computed_at": latest.computed_at, "data": latest.data}


class ExperimentCreateSerializer(serializers.Serializer):
    key = serializers.SlugField(max_length=64)
    name = serializers.CharField(max_length=200, required=False, default="")
    flag = serializers.CharField()
    environment = serializers.CharField()
    control = serializers.CharField()
    treatments = serializers.ListField(child=serializers.CharField(), min_length=1)
    primary_metric = serializers.CharField()
    secondary_metrics = serializers.ListField(child=serializers.CharField(), required=False)
    guardrails = serializers.ListField(child=serializers.DictField(), required=False)
    traffic_percentage = serializers.FloatField(required=False, default=100.0)
    hypothesis = serializers.CharField(required=False, default="", allow_blank=True)
    correction = serializers.ChoiceField(["holm", "bh"], required=False, default="holm")
    sequential = serializers.BooleanField(required=False, default=True)
    target_units_per_variant = serializers.IntegerField(min_value=1, required=False, default=1000)


class GuardrailsSerializer(serializers.Serializer):
    guardrails = serializers.ListField(child=serializers.DictField())
    comment = serializers.CharField(required=False, default="", allow_blank=True, max_length=1000)


class ActionSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, default="", allow_blank=True)
    ship = serializers.CharField(required=False, default="")


def _refused(exc: ExperimentError) -> exceptions.ValidationError:
    return exceptions.ValidationError({exc.field: [exc.message]})


class ExperimentListView(ManagementView):
    @extend_schema(
        operation_id="experiments_list",
        tags=TAGS,
        responses={200: ExperimentSerializer(many=True), **SESSION_ERRORS},
    )
    def get(self, request: Request) -> Response:
        rows = Experiment.objects.select_related("flag", "environment")
        return Response(ExperimentSerializer(rows, many=True).data)

    @extend_schema(
        operation_id="experiments_create",
        tags=TAGS,
        request=ExperimentCreateSerializer,
        responses={201: ExperimentSerializer, **SESSION_ERRORS},
    )
    def post(self, request: Request) -> Response:
        """A draft; start it with POST .../start. Guardrails default to the product's."""
        data = parsed(ExperimentCreateSerializer, request)
        flag = Flag.objects.filter(key=data.pop("flag")).first()
        environment = Environment.objects.filter(key=data.pop("environment")).first()
        if flag is None:
            raise exceptions.ValidationError({"flag": ["No such flag."]})
        if environment is None:
            raise exceptions.ValidationError({"environment": ["No such environment."]})
        try:
            experiment = experiment_create(
                flag=flag, environment=environment, actor=actor_for(request), **data
            )
        except ExperimentError as exc:
            raise _refused(exc) from None
        return Response(ExperimentSerializer(experiment).data, status=status.HTTP_201_CREATED)


class ExperimentDetailView(ManagementView):
    @extend_schema(
        operation_id="experiments_get",
        tags=TAGS,
        responses={200: ExperimentSerializer, **SESSION_ERRORS},
    )
    def get(self, request: Request, key: str) -> Response:
        """The experiment and its latest result snapshot (`latest_result.data`)."""
        experiment = get_object_or_404(Experiment, key=key)
        return Response(ExperimentSerializer(experiment, context={"with_result": True}).data)

    @extend_schema(
        operation_id="experiments_guardrails_update",
        tags=TAGS,
        request=GuardrailsSerializer,
        responses={200: ExperimentSerializer, **SESSION_ERRORS},
    )
    def patch(self, request: Request, key: str) -> Response:
        """Replace a draft's or running experiment's `guardrails` (`[{metric, max | min}]`, in
        the metric's own unit; the same rules as the create form), recorded in the audit log
        with the optional `comment` (docs/experiments.md, "Guardrails")."""
        experiment = get_object_or_404(Experiment, key=key)
        data = parsed(GuardrailsSerializer, request)
        try:
            experiment = experiment_guardrails_update(
                experiment=experiment,
                guardrails=data["guardrails"],
                actor=actor_for(request),
                comment=data["comment"],
            )
        except GuardrailError as exc:
            fields: dict[str, list[str]] = {}
            for field, message in exc.errors:
                name = "guardrails" if field.startswith("guardrails") else field
                fields.setdefault(name, []).append(
                    message if field == name else f"{field}: {message}"
                )
            raise exceptions.ValidationError(fields) from None
        return Response(ExperimentSerializer(experiment, context={"with_result": True}).data)


class ExperimentActionView(ManagementView):
    @extend_schema(
        operation_id="experiments_action",
        tags=TAGS,
        request=ActionSerializer,
        responses={200: ExperimentSerializer, **SESSION_ERRORS},
    )
    def post(self, request: Request, key: str, action: str) -> Response:
        """`start`, `stop`, `conclude` (with `ship`: a variant key; the control keeps the
        pre-experiment configuration), `acknowledge-srm` or `refresh` (recompute now).
        Production changes need a `comment`."""
        experiment = get_object_or_404(Experiment, key=key)
        data = parsed(ActionSerializer, request)
        actor, comment = actor_for(request), data["comment"]
        try:
            with config_errors_as_400():
                if action == "start":
                    experiment = experiment_start(
                        experiment=experiment, actor=actor, comment=comment
                    )
                elif action == "stop":
                    experiment = experiment_stop(
                        experiment=experiment, actor=actor, comment=comment
                    )
                elif action == "conclude":
                    experiment = experiment_conclude(
                        experiment=experiment, ship=data["ship"], actor=actor, comment=comment
                    )
                elif action == "acknowledge-srm":
                    experiment = experiment_srm_acknowledge(experiment=experiment, actor=actor)
                elif action == "refresh":
                    from .compute import experiment_compute_results

                    experiment_compute_results(experiment_id=experiment.pk, refresh=True)
                else:
                    raise exceptions.NotFound(f"Unknown action {action!r}.")
        except ExperimentError as exc:
            raise _refused(exc) from None
        return Response(ExperimentSerializer(experiment, context={"with_result": True}).data)


class ExperimentCsvView(ManagementView):
    @extend_schema(
        operation_id="experiments_results_csv",
        tags=TAGS,
        responses={200: OpenApiResponse(description="text/csv, one line per metric and variant")},
    )
    def get(self, request: Request, key: str) -> HttpResponse:
        from .views import results_csv_write

        experiment = get_object_or_404(Experiment, key=key)
        response = HttpResponse(content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="{experiment.key}-results.csv"'
        results_csv_write(experiment, response)
        return response
