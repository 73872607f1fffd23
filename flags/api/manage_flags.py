"""Management API for flags: definition, variants, per-environment configuration, rules, toggle,
versions. Views parse input and call flags.changes (validation, version, audit, publish)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from flags import changes, policy
from flags.models import Flag, Version

from . import serializers as s
from .access import (
    ManagementView,
    actor_for,
    config_errors_as_400,
    config_get,
    environment_get,
    flag_get,
    parsed,
)
from .schema_docs import SESSION_ERRORS

TAGS = ["management: flags"]


def _flag_out(flag: Flag) -> dict[str, Any]:
    flag = Flag.objects.prefetch_related("configs__environment").get(pk=flag.pk)
    return dict(s.FlagSerializer(flag).data)


class FlagListView(ManagementView):
    @extend_schema(
        operation_id="flags_list",
        tags=TAGS,
        responses={200: s.FlagSerializer(many=True), **SESSION_ERRORS},
    )
    def get(self, request: Request) -> Response:
        flags = Flag.objects.prefetch_related("configs__environment").order_by("key")
        return Response(s.FlagSerializer(flags, many=True).data)

    @extend_schema(
        operation_id="flags_create",
        tags=TAGS,
        request=s.FlagCreateSerializer,
        responses={201: s.FlagSerializer, **SESSION_ERRORS},
    )
    def post(self, request: Request) -> Response:
        """Create a flag; it starts disabled (serving its off variant) in every environment."""
        policy.require_write(request.user)
        data = parsed(s.FlagCreateSerializer, request)
        with config_errors_as_400():
            flag = changes.flag_create(actor=actor_for(request), **data)
        return Response(_flag_out(flag), status=status.HTTP_201_CREATED)


class FlagDetailView(ManagementView):
    @extend_schema(
        operation_id="flags_retrieve",
        tags=TAGS,
        responses={200: s.FlagSerializer, **SESSION_ERRORS},
    )
    def get(self, request: Request, key: str) -> Response:
        return Response(_flag_out(flag_get(key)))

    @extend_schema(
        operation_id="flags_update",
        tags=TAGS,
        request=s.FlagUpdateSerializer,
        responses={200: s.FlagSerializer, **SESSION_ERRORS},
    )
    def patch(self, request: Request, key: str) -> Response:
        """Change the definition. Variants and lifecycle change what production serves: admins,
        with a comment."""
        flag = flag_get(key)
        policy.require_write(request.user)
        data = parsed(s.FlagUpdateSerializer, request, partial=True)
        policy.require_flag_update(request.user, flag, data)
        comment = data.pop("comment", "")
        with config_errors_as_400():
            flag = changes.flag_update(flag=flag, actor=actor_for(request), comment=comment, **data)
        return Response(_flag_out(flag))


class VariantsView(ManagementView):
    @extend_schema(
        operation_id="flags_variants_list",
        tags=TAGS,
        responses={200: s.VariantSerializer(many=True), **SESSION_ERRORS},
    )
    def get(self, request: Request, key: str) -> Response:
        return Response(s.VariantSerializer(flag_get(key).variants, many=True).data)

    @extend_schema(
        operation_id="flags_variants_replace",
        tags=TAGS,
        request=s.VariantsSerializer,
        responses={200: s.VariantSerializer(many=True), **SESSION_ERRORS},
    )
    def put(self, request: Request, key: str) -> Response:
        """Replace the variants. They reach production: admins, with a comment."""
        flag = flag_get(key)
        policy.require_write(request.user)
        data = parsed(s.VariantsSerializer, request)
        policy.require_flag_update(request.user, flag, {"variants": data["variants"]})
        with config_errors_as_400():
            flag = changes.flag_update(
                flag=flag,
                actor=actor_for(request),
                comment=data["comment"],
                variants=data["variants"],
            )
        return Response(s.VariantSerializer(flag.variants, many=True).data)


class ConfigView(ManagementView):
    @extend_schema(
        operation_id="flags_config_retrieve",
        tags=TAGS,
        responses={200: s.ConfigSerializer, **SESSION_ERRORS},
    )
    def get(self, request: Request, key: str, env: str) -> Response:
        return Response(s.ConfigSerializer(config_get(flag_get(key), environment_get(env))).data)

    @extend_schema(
        operation_id="flags_config_update",
        tags=TAGS,
        request=s.ConfigUpdateSerializer,
        responses={200: s.ConfigSerializer, **SESSION_ERRORS},
    )
    def patch(self, request: Request, key: str, env: str) -> Response:
        """Change how the flag is served in one environment (validated as a whole)."""
        flag, environment = flag_get(key), environment_get(env)
        policy.require_environment(request.user, environment)
        data = parsed(s.ConfigUpdateSerializer, request, partial=True)
        comment = data.pop("comment", "")
        with config_errors_as_400():
            changes.flag_config_update(
                flag=flag,
                environment=environment,
                actor=actor_for(request),
                comment=comment,
                **data,
            )
        return Response(s.ConfigSerializer(config_get(flag, environment)).data)


class RulesView(ManagementView):
    @extend_schema(
        operation_id="flags_rules_list",
        tags=TAGS,
        responses={200: s.RulesSerializer, **SESSION_ERRORS},
    )
    def get(self, request: Request, key: str, env: str) -> Response:
        config = config_get(flag_get(key), environment_get(env))
        return Response({"rules": config.rules, "comment": ""})

    @extend_schema(
        operation_id="flags_rules_replace",
        tags=TAGS,
        request=s.RulesSerializer,
        responses={200: s.RulesSerializer, **SESSION_ERRORS},
    )
    def put(self, request: Request, key: str, env: str) -> Response:
        flag, environment = flag_get(key), environment_get(env)
        policy.require_environment(request.user, environment)
        data = parsed(s.RulesSerializer, request)
        with config_errors_as_400():
            config = changes.flag_config_update(
                flag=flag,
                environment=environment,
                actor=actor_for(request),
                comment=data["comment"],
                rules=data["rules"],
            )
        return Response({"rules": config.rules, "comment": data["comment"]})


class ToggleView(ManagementView):
    @extend_schema(
        operation_id="flags_toggle",
        tags=TAGS,
        request=s.ToggleSerializer,
        responses={200: s.ConfigSerializer, **SESSION_ERRORS},
    )
    def post(self, request: Request, key: str, env: str) -> Response:
        """Turn the flag on or off in one environment."""
        flag, environment = flag_get(key), environment_get(env)
        policy.require_environment(request.user, environment)
        data = parsed(s.ToggleSerializer, request)
        with config_errors_as_400():
            changes.flag_toggle(
                flag=flag,
                environment=environment,
                enabled=data["enabled"],
                actor=actor_for(request),
                comment=data["comment"],
            )
        return Response(s.ConfigSerializer(config_get(flag, environment)).data)


class FlagVersionsView(ManagementView):
    @extend_schema(
        operation_id="flags_versions_list",
        tags=TAGS,
        parameters=[
            OpenApiParameter(
                "environment",
                str,
                required=False,
                description="Only this environment's configurations.",
            )
        ],
        responses={200: s.VersionSerializer(many=True), **SESSION_ERRORS},
    )
    def get(self, request: Request, key: str) -> Response:
        """The flag's definition versions and configuration versions, newest first."""
        flag = flag_get(key)
        versions = Version.objects.filter(flag=flag).select_related(
            "flag", "environment", "segment", "author"
        )
        env = request.query_params.get("environment")
        if env:
            versions = versions.filter(
                Q(environment=environment_get(env)) | Q(subject=Version.Subject.FLAG)
            )
        return Response(s.VersionSerializer(versions[:500], many=True).data)
