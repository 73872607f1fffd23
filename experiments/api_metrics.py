"""The metric catalogue in the management API: every metric (built-in and team), and team
metrics' create / read / update / archive (docs/api.md, "Metrics"; docs/experiments.md,
"Team metrics"). Bodies are checked by `experiments.team_metrics.definition_clean`, so the API
and the UI refuse the same input with the same field names."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from flags import policy
from flags.api.access import ManagementView, actor_for, config_errors_as_400
from flags.api.schema_docs import SESSION_ERRORS

from .metrics import CATALOGUE, Metric, metrics_list
from .models import MetricDefinition
from .team_metric_changes import (
    metric_usage,
    team_metric_archive,
    team_metric_create,
    team_metric_update,
)
from .team_metrics import DIRECTIONS, FORMATS, KINDS, OPS, SOURCES, UNITS

TAGS = ["management: metrics"]


@extend_schema_field(OpenApiTypes.ANY)
class AnyValueField(serializers.JSONField):
    """A string, number, boolean, or (for `in`) a list of them."""


class ConditionSerializer(serializers.Serializer):
    field = serializers.CharField()
    op = serializers.ChoiceField(OPS)
    value = AnyValueField()


class CatalogueEntrySerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    builtin = serializers.BooleanField()
    kind = serializers.ChoiceField(KINDS)
    unit = serializers.ChoiceField(UNITS)
    direction = serializers.ChoiceField(DIRECTIONS)
    source = serializers.CharField()  # type: ignore[assignment]  # (DRF's Field.source)
    format = serializers.ChoiceField(FORMATS)
    reads = serializers.ListField(child=serializers.CharField())
    archived = serializers.BooleanField()


class TeamMetricSerializer(serializers.ModelSerializer):
    condition = ConditionSerializer(allow_null=True)
    filters = ConditionSerializer(many=True)
    used_by = serializers.SerializerMethodField()

    class Meta:
        model = MetricDefinition
        fields = [
            "key", "name", "description", "source", "kind", "unit", "direction", "value",
            "condition", "denominator", "quantile", "filters", "format", "archived", "used_by",
            "created_at", "updated_at",
        ]  # fmt: skip

    def get_used_by(self, d: MetricDefinition) -> list[str]:
        """Keys of the experiments (any status) that name this metric."""
        return [e.key for e in metric_usage(d.key)]


class TeamMetricInputSerializer(serializers.Serializer):
    """The request body (documentation: the validator in experiments.team_metrics decides)."""

    key = serializers.CharField(max_length=64, help_text="a-z, 0-9, _ and -; never changes")
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    source = serializers.ChoiceField(SOURCES)  # type: ignore[assignment]  # (Field.source)
    kind = serializers.ChoiceField(KINDS)
    unit = serializers.ChoiceField(UNITS, required=False, default="request")
    direction = serializers.ChoiceField(DIRECTIONS)
    value = serializers.CharField(required=False, help_text="mean, ratio, quantile: a field")
    condition = ConditionSerializer(required=False, help_text="proportion: the success test")
    denominator = serializers.CharField(
        required=False, allow_blank=True, help_text="ratio: a field; empty: one per event"
    )
    quantile = serializers.FloatField(required=False, help_text="quantile: 0 < q < 1")
    filters = ConditionSerializer(many=True, required=False, help_text="at most 10")
    format = serializers.ChoiceField(FORMATS, required=False, default="number")


def _entry(metric: Metric, archived: bool) -> dict[str, Any]:
    return {
        "key": metric.key,
        "name": metric.name,
        "description": metric.description,
        "builtin": metric.key in CATALOGUE,
        "kind": metric.kind,
        "unit": metric.unit,
        "direction": metric.direction,
        "source": metric.source,
        "format": metric.format,
        "reads": list(metric.reads),
        "archived": archived,
    }


def _definition(key: str) -> MetricDefinition:
    if "\x00" in key:
        raise exceptions.NotFound()
    return get_object_or_404(MetricDefinition, key=key)


def _body(request: Request) -> Any:
    policy.require_metric_change(request.user)  # a viewer gets 403 before the body is read
    return request.data


class MetricListView(ManagementView):
    @extend_schema(
        operation_id="metrics_list",
        tags=TAGS,
        parameters=[OpenApiParameter("archived", bool, description="include archived metrics")],
        responses={200: CatalogueEntrySerializer(many=True), **SESSION_ERRORS},
    )
    def get(self, request: Request) -> Response:
        """The one catalogue: the built-ins, then the team's metrics."""
        with_archived = request.query_params.get("archived", "") in ("1", "true")
        archived = set(MetricDefinition.objects.filter(archived=True).values_list("key", flat=True))
        rows = [_entry(m, m.key in archived) for m in metrics_list(archived=with_archived)]
        return Response(rows)

    @extend_schema(
        operation_id="metrics_create",
        tags=TAGS,
        request=TeamMetricInputSerializer,
        responses={201: TeamMetricSerializer, **SESSION_ERRORS},
    )
    def post(self, request: Request) -> Response:
        """A team metric (editors)."""
        data = _body(request)
        with config_errors_as_400():
            d = team_metric_create(data=data, actor=actor_for(request))
        return Response(TeamMetricSerializer(d).data, status=status.HTTP_201_CREATED)


class MetricDetailView(ManagementView):
    @extend_schema(
        operation_id="metrics_get",
        tags=TAGS,
        responses={200: TeamMetricSerializer, **SESSION_ERRORS},
    )
    def get(self, request: Request, key: str) -> Response:
        """A team metric's definition (built-ins are in the list)."""
        return Response(TeamMetricSerializer(_definition(key)).data)

    @extend_schema(
        operation_id="metrics_update",
        tags=TAGS,
        request=TeamMetricInputSerializer(partial=True),
        responses={200: TeamMetricSerializer, **SESSION_ERRORS},
    )
    def patch(self, request: Request, key: str) -> Response:
        """Change the given fields. While a running experiment uses the metric only name,
        description and format may change (400 naming the refused fields)."""
        d = _definition(key)
        data = _body(request)
        with config_errors_as_400():
            d = team_metric_update(definition=d, data=data, actor=actor_for(request))
        return Response(TeamMetricSerializer(d).data)


class MetricArchiveView(ManagementView):
    @extend_schema(
        operation_id="metrics_archive",
        tags=TAGS,
        request=None,
        responses={200: TeamMetricSerializer, **SESSION_ERRORS},
    )
    def post(self, request: Request, key: str, action: str) -> Response:
        """`archive` (hidden from the pickers; experiments using it keep computing it) or
        `restore`."""
        if action not in ("archive", "restore"):
            raise exceptions.NotFound(f"Unknown action {action!r}.")
        d = _definition(key)
        policy.require_metric_change(request.user)
        d = team_metric_archive(
            definition=d, archived=action == "archive", actor=actor_for(request)
        )
        return Response(TeamMetricSerializer(d).data)
