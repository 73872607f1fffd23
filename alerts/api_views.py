"""Alerts in the management API (session or personal token): the list with filters, one alert
with its deliveries, acknowledge and resolve (docs/alerts.md, "API").

Who may triage and what is audited is alerts.triage's business: these views parse and call it.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, generics, serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response

from flags.api.access import ManagementView, actor_for, parsed
from flags.api.schema_docs import SESSION_ERRORS

from .forms import STATUS_FILTERS, AlertApiFilterForm, alerts_filtered
from .models import Alert, Delivery, Severity, Source
from .triage import COMMENT_MAX, alert_acknowledge, alert_resolve, alert_triage_check

TAGS = ["management: alerts"]
ID_MAX = 2**63 - 1  # bigint: a larger id can match no row (and PostgreSQL would refuse it)


class _UserField(serializers.CharField):
    def to_representation(self, value: Any) -> str:
        return str(value.get_username())


class AlertSerializer(serializers.ModelSerializer):
    environment = serializers.CharField(source="environment.key", allow_null=True, default=None)
    acknowledged_by = _UserField(allow_null=True)
    resolved_by = _UserField(allow_null=True)
    escalations = serializers.ListField(
        child=serializers.DictField(),
        read_only=True,
        help_text="Each step up in severity under the same key: at, from, to, title (and "
        "acknowledged_by, acknowledged_at when it sent an acknowledged alert back to open).",
    )

    class Meta:
        model = Alert
        fields = [
            "id", "source", "dedupe_key", "severity", "status", "title", "body", "link",
            "details", "environment", "created_at", "acknowledged_at", "acknowledged_by",
            "acknowledged_comment", "resolved_at", "resolved_by", "resolved_comment",
            "escalations",
        ]  # fmt: skip


class DeliverySerializer(serializers.ModelSerializer):
    """A channel's delivery of the alert: never the channel's URL, recipients or secret (only
    admins see channels: a Slack URL is itself a credential)."""

    channel = serializers.CharField(source="channel.name")
    channel_kind = serializers.CharField(source="channel.kind")
    webhook_id = serializers.SerializerMethodField()

    class Meta:
        model = Delivery
        fields = [
            "id", "channel", "channel_kind", "status", "attempts", "last_error",
            "next_attempt_at", "delivered_at", "created_at", "webhook_id", "digest",
        ]  # fmt: skip

    def get_webhook_id(self, delivery: Delivery) -> str:
        return f"msg_{delivery.message_id.hex}"


class AlertDetailSerializer(AlertSerializer):
    deliveries = DeliverySerializer(many=True, read_only=True)

    class Meta(AlertSerializer.Meta):
        fields = [*AlertSerializer.Meta.fields, "deliveries"]


class StrictCharField(serializers.CharField):
    """A string, and only a string (DRF's CharField would take 5 as "5")."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))


class TriageSerializer(serializers.Serializer):
    comment = StrictCharField(max_length=COMMENT_MAX, required=False, allow_blank=True, default="")


class AlertPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


def _enum(name: str, values: list[str], description: str) -> OpenApiParameter:
    return OpenApiParameter(name, OpenApiTypes.STR, enum=values, description=description)


LIST_PARAMETERS = [
    _enum(
        "status",
        [value for value, _ in STATUS_FILTERS],
        "`active` (the default): open or acknowledged; `all`: every alert.",
    ),
    _enum("source", list(Source.values), "Only alerts of this source."),
    _enum("severity", list(Severity.values), "Only alerts of this severity."),
    OpenApiParameter("environment", OpenApiTypes.STR, description="An environment's key."),
]
ID_PARAMETER = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH)


def alert_get(pk: str) -> Alert:
    """The alert with this id with its deliveries, or the API's JSON 404 (also for an id that
    is not a number: the URL takes any text so that no id gets Django's HTML page)."""
    if not pk.isascii() or not pk.isdigit() or not 0 < int(pk) <= ID_MAX:
        raise exceptions.NotFound("No such alert.")
    deliveries = Delivery.objects.select_related("channel").order_by("id")
    alert = (
        Alert.objects.select_related("environment", "acknowledged_by", "resolved_by")
        .prefetch_related(Prefetch("deliveries", queryset=deliveries))
        .filter(pk=int(pk))
        .first()
    )
    if alert is None:
        raise exceptions.NotFound("No such alert.")
    return alert


class AlertListView(ManagementView, generics.ListAPIView):
    serializer_class = AlertSerializer
    pagination_class = AlertPagination

    def get_queryset(self) -> QuerySet[Alert]:
        form = AlertApiFilterForm(self.request.query_params)
        if not form.is_valid():
            raise exceptions.ValidationError(
                {k: [str(m) for m in v] for k, v in form.errors.items()}
            )
        return alerts_filtered(form.cleaned_data)

    @extend_schema(
        operation_id="alerts_list",
        tags=TAGS,
        parameters=LIST_PARAMETERS,
        responses={200: AlertSerializer(many=True), **SESSION_ERRORS},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Alerts, newest first, 50 a page (`page_size` up to 200); unknown filter values are a
        400 naming the parameter."""
        return super().get(request, *args, **kwargs)


class AlertDetailView(ManagementView):
    @extend_schema(
        operation_id="alerts_get",
        tags=TAGS,
        parameters=[ID_PARAMETER],
        responses={200: AlertDetailSerializer, **SESSION_ERRORS},
    )
    def get(self, request: Request, pk: str) -> Response:
        """The alert and its deliveries (status, attempts, last error) to each channel."""
        return Response(AlertDetailSerializer(alert_get(pk)).data)


def _triage(request: Request, pk: str, triage: Any) -> Response:
    alert_triage_check(user=request.user)  # a viewer gets 403 before the body is read
    alert = alert_get(pk)
    data = parsed(TriageSerializer, request, write=False)
    try:
        triage(
            alert_id=alert.pk,
            user=request.user,
            comment=data["comment"],
            actor_label=actor_for(request).label,
        )
    except DjangoValidationError as exc:
        raise exceptions.ValidationError({"status": exc.messages}) from None
    return Response(AlertDetailSerializer(alert_get(pk)).data)


def _triage_view(step: str, triage: Any, doc: str) -> type[ManagementView]:
    """POST /api/v1/alerts/{id}/<step>: one view class per step, so that the schema lists each
    with its own operation id."""

    @extend_schema(
        operation_id=f"alerts_{step}",
        tags=TAGS,
        parameters=[ID_PARAMETER],
        request=TriageSerializer,
        responses={200: AlertDetailSerializer, **SESSION_ERRORS},
        description=doc,
    )
    def post(self: ManagementView, request: Request, pk: str) -> Response:
        return _triage(request, pk, triage)

    return type(f"Alert{step.title()}View", (ManagementView,), {"post": post})


AlertAcknowledgeView = _triage_view(
    "acknowledge",
    alert_acknowledge,
    "Open -> acknowledged (someone is on it), with an optional `comment`. Acknowledging an "
    "acknowledged alert changes nothing; a resolved one is a 400 on `status`.",
)
AlertResolveView = _triage_view(
    "resolve",
    alert_resolve,
    "Open or acknowledged -> resolved, with an optional `comment`. Resolving a resolved alert "
    "is a 400 on `status`.",
)
