"""Shapes of the rollout management API (docs/api.md, "Rollouts")."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from .models import Gate, Phase, PlanEvent, RolloutPlan, ScheduledChange
from .templates_builtin import TEMPLATES


class PhaseSerializer(serializers.ModelSerializer[Phase]):
    percentage = serializers.DecimalField(
        max_digits=6, decimal_places=3, required=False, allow_null=True
    )
    segments = serializers.ListField(child=serializers.CharField(max_length=128), required=False)

    class Meta:
        model = Phase
        fields = ["name", "percentage", "segments", "min_duration_seconds", "completes"]


class GateSerializer(serializers.ModelSerializer[Gate]):
    class Meta:
        model = Gate
        fields = ["metric", "threshold", "window_seconds", "min_sample", "compare_with_control"]


class PlanEventSerializer(serializers.ModelSerializer[PlanEvent]):
    class Meta:
        model = PlanEvent
        fields = ["at", "kind", "actor_label", "comment", "details"]


class PlanSerializer(serializers.ModelSerializer[RolloutPlan]):
    flag = serializers.CharField(source="flag.key")
    environment = serializers.CharField(source="environment.key")
    phases = PhaseSerializer(many=True)
    gates = GateSerializer(many=True)
    events = PlanEventSerializer(many=True)

    class Meta:
        model = RolloutPlan
        fields = [
            "id",
            "flag",
            "environment",
            "name",
            "template",
            "variant",
            "replaces",
            "status",
            "revision",
            "current_phase",
            "phase_started_at",
            "started_at",
            "ended_at",
            "end_reason",
            "phases",
            "gates",
            "events",
        ]


class PlanCreateSerializer(serializers.Serializer[Any]):
    variant = serializers.CharField(max_length=64)
    replaces = serializers.CharField(max_length=64)
    template = serializers.ChoiceField(choices=TEMPLATES, default="canary")
    name = serializers.CharField(max_length=200, required=False, default="")
    phases = PhaseSerializer(many=True, required=False)
    gates = GateSerializer(many=True, required=False)
    start = serializers.BooleanField(default=False)
    comment = serializers.CharField(required=False, default="", allow_blank=True)


class PlanEditSerializer(serializers.Serializer[Any]):
    """A PATCH body's shape; its phases and gates are read by `validation.plan_specs_parse`
    (the page's validator), so only their being lists of objects is checked here."""

    phases = serializers.ListField(child=serializers.DictField(), required=False)
    gates = serializers.ListField(child=serializers.DictField(), required=False)
    name = serializers.CharField(max_length=200, required=False)
    comment = serializers.CharField(required=False, default="", allow_blank=True)

    ITEM_FIELDS = {"phases": PhaseSerializer.Meta.fields, "gates": GateSerializer.Meta.fields}

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        unknown = {n: ["Unknown field."] for n in self.initial_data if n not in self.fields}
        for key, known in self.ITEM_FIELDS.items():
            for i, item in enumerate(attrs.get(key, [])):
                unknown |= {f"{key}[{i}].{n}": ["Unknown field."] for n in item if n not in known}
        if unknown:
            raise serializers.ValidationError(unknown)
        return attrs


class GateTuneSerializer(serializers.Serializer[Any]):
    """A gate in a PATCH body: for a draft, a whole gate (as in POST); for a started plan, its
    `metric` names the gate and the other fields given replace its own."""

    metric = serializers.CharField(max_length=64)
    threshold = serializers.FloatField(required=False)
    window_seconds = serializers.IntegerField(min_value=1, required=False)
    min_sample = serializers.IntegerField(min_value=0, required=False)
    compare_with_control = serializers.BooleanField(required=False)


class PlanEditDocSerializer(serializers.Serializer[Any]):
    """The PATCH body as documented (the view reads it with PlanEditSerializer)."""

    phases = PhaseSerializer(many=True, required=False, help_text="a draft's only; replaces")
    gates = GateTuneSerializer(many=True, required=False)
    name = serializers.CharField(max_length=200, required=False, help_text="a draft's only")
    comment = serializers.CharField(required=False, default="", allow_blank=True)


class PlanActionSerializer(serializers.Serializer[Any]):
    comment = serializers.CharField(required=False, default="", allow_blank=True)


class ScheduledChangeSerializer(serializers.ModelSerializer[ScheduledChange]):
    flag = serializers.CharField(source="flag.key", read_only=True)
    environment = serializers.CharField(source="environment.key", read_only=True)

    class Meta:
        model = ScheduledChange
        fields = [
            "id",
            "flag",
            "environment",
            "changes",
            "run_at",
            "comment",
            "status",
            "result",
            "created_at",
            "done_at",
        ]
        read_only_fields = ["id", "status", "result", "created_at", "done_at"]
