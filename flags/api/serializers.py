"""Management API shapes. Input serializers check types only; what a configuration means is
validated by flags.changes (the engine's validators), exactly as for the UI."""

from __future__ import annotations

from typing import Any, TypedDict

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from flags.models import (
    AuditEvent,
    Environment,
    Flag,
    FlagConfig,
    FlagKind,
    Lifecycle,
    PersonalToken,
    Segment,
    Version,
)


class _CharOptions(TypedDict, total=False):
    """The CharField options shared by several serializers (typed, so `**` stays checked)."""

    max_length: int
    required: bool
    allow_blank: bool
    default: str


KEY_FIELD: _CharOptions = {"max_length": 128}
NAME_FIELD: _CharOptions = {
    "max_length": 200,
    "required": False,
    "allow_blank": True,
    "default": "",
}
COMMENT: _CharOptions = {"required": False, "allow_blank": True, "default": "", "max_length": 2000}


class VariantSerializer(serializers.Serializer):
    key = serializers.CharField(max_length=64)
    value = serializers.JSONField(allow_null=True)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True)


# --- output ----------------------------------------------------------------------------------


class EnvironmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Environment
        fields = [
            "key",
            "name",
            "is_production",
            "color",
            "sort_order",
            "ruleset_version",
            "created_at",
        ]


class ConfigSerializer(serializers.ModelSerializer):
    environment = serializers.CharField(source="environment.key")
    rules = serializers.ListField(child=serializers.DictField())
    default = serializers.DictField()
    prerequisites = serializers.ListField(child=serializers.DictField())

    class Meta:
        model = FlagConfig
        fields = [
            "environment",
            "enabled",
            "off_variant",
            "rules",
            "default",
            "prerequisites",
            "version",
            "updated_at",
        ]


class FlagSerializer(serializers.ModelSerializer):
    variants = VariantSerializer(many=True)
    tags = serializers.ListField(child=serializers.CharField())
    environments = serializers.SerializerMethodField()

    class Meta:
        model = Flag
        fields = [
            "key",
            "name",
            "description",
            "kind",
            "variants",
            "tags",
            "lifecycle",
            "salt",
            "version",
            "created_at",
            "updated_at",
            "environments",
        ]

    @extend_schema_field(serializers.DictField(child=ConfigSerializer()))
    def get_environments(self, flag: Flag) -> dict[str, Any]:
        return {c.environment.key: ConfigSerializer(c).data for c in flag.configs.all()}


class SegmentSerializer(serializers.ModelSerializer):
    included = serializers.ListField(child=serializers.JSONField())
    excluded = serializers.ListField(child=serializers.JSONField())
    clauses = serializers.ListField(child=serializers.DictField())

    class Meta:
        model = Segment
        fields = [
            "key",
            "name",
            "description",
            "included",
            "excluded",
            "clauses",
            "percentage",
            "bucket_by",
            "version",
            "created_at",
            "updated_at",
        ]


class VersionSerializer(serializers.ModelSerializer):
    flag = serializers.CharField(source="flag.key", default=None, allow_null=True)
    environment = serializers.CharField(source="environment.key", default=None, allow_null=True)
    segment = serializers.CharField(source="segment.key", default=None, allow_null=True)
    author = serializers.SerializerMethodField()
    # DRF's serializer metaclass moves declared fields out of the class body, so this field does
    # not replace Serializer.data at runtime; the stubs cannot know that.
    data = serializers.DictField()  # type: ignore[assignment]

    class Meta:
        model = Version
        fields = [
            "id",
            "subject",
            "flag",
            "environment",
            "segment",
            "number",
            "data",
            "author",
            "comment",
            "created_at",
        ]

    def get_author(self, version: Version) -> str:
        return str(version.author) if version.author_id else (version.actor_label or "system")


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = ["id", "created_at", "action", "object_type", "object_key", "summary", "comment"]


class TokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = PersonalToken
        fields = ["id", "name", "hint", "created_at", "last_used_at", "revoked_at"]


class NewTokenSerializer(TokenSerializer):
    token = serializers.CharField(help_text="Shown once; store it now.")

    class Meta(TokenSerializer.Meta):
        fields = [*TokenSerializer.Meta.fields, "token"]


# --- input -----------------------------------------------------------------------------------


class EnvironmentCreateSerializer(serializers.Serializer):
    key = serializers.CharField(**KEY_FIELD)
    name = serializers.CharField(**NAME_FIELD)
    is_production = serializers.BooleanField(default=False)
    sort_order = serializers.IntegerField(default=0, min_value=-100_000, max_value=100_000)
    color = serializers.RegexField(r"^#[0-9a-fA-F]{6}$", required=False, default="#64748b")


class FlagCreateSerializer(serializers.Serializer):
    key = serializers.CharField(**KEY_FIELD)
    name = serializers.CharField(**NAME_FIELD)
    kind = serializers.ChoiceField(choices=FlagKind.choices)
    variants = VariantSerializer(many=True, allow_empty=False)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    tags = serializers.ListField(child=serializers.CharField(max_length=64), required=False)
    off_variant = serializers.CharField(max_length=64, required=False)
    comment = serializers.CharField(**COMMENT)


class FlagUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    tags = serializers.ListField(child=serializers.CharField(max_length=64), required=False)
    variants = VariantSerializer(many=True, required=False, allow_empty=False)
    lifecycle = serializers.ChoiceField(choices=Lifecycle.choices, required=False)
    comment = serializers.CharField(**COMMENT)


class VariantsSerializer(serializers.Serializer):
    variants = VariantSerializer(many=True, allow_empty=False)
    comment = serializers.CharField(**COMMENT)


class ConfigUpdateSerializer(serializers.Serializer):
    enabled = serializers.BooleanField(required=False)
    off_variant = serializers.CharField(max_length=64, required=False)
    rules = serializers.ListField(child=serializers.DictField(), required=False)
    default = serializers.DictField(required=False)
    prerequisites = serializers.ListField(child=serializers.DictField(), required=False)
    comment = serializers.CharField(**COMMENT)


class RulesSerializer(serializers.Serializer):
    rules = serializers.ListField(child=serializers.DictField())
    comment = serializers.CharField(**COMMENT)


class ToggleSerializer(serializers.Serializer):
    enabled = serializers.BooleanField()
    comment = serializers.CharField(**COMMENT)


class SegmentFieldsSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    included = serializers.ListField(child=serializers.CharField(max_length=200), required=False)
    excluded = serializers.ListField(child=serializers.CharField(max_length=200), required=False)
    clauses = serializers.ListField(child=serializers.DictField(), required=False)
    percentage = serializers.FloatField(required=False, allow_null=True, min_value=0, max_value=100)
    bucket_by = serializers.CharField(max_length=64, required=False)
    comment = serializers.CharField(**COMMENT)


class SegmentCreateSerializer(SegmentFieldsSerializer):
    key = serializers.CharField(**KEY_FIELD)


class RollbackSerializer(serializers.Serializer):
    comment = serializers.CharField(**COMMENT)


class TokenCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
