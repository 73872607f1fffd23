"""Management API for environments, segments, roll-backs and personal tokens."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import authentication, exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response

from flags import changes, policy
from flags.models import Environment, PersonalToken, Segment, Version

from . import serializers as s
from .access import (
    ManagementView,
    actor_for,
    config_errors_as_400,
    parsed,
    request_user,
    segment_get,
)
from .schema_docs import SESSION_ERRORS
from .tokens import personal_token_create, personal_token_revoke


class EnvironmentListView(ManagementView):
    @extend_schema(
        operation_id="environments_list",
        tags=["management: environments"],
        responses={200: s.EnvironmentSerializer(many=True), **SESSION_ERRORS},
    )
    def get(self, request: Request) -> Response:
        return Response(s.EnvironmentSerializer(Environment.objects.all(), many=True).data)

    @extend_schema(
        operation_id="environments_create",
        tags=["management: environments"],
        request=s.EnvironmentCreateSerializer,
        responses={201: s.EnvironmentSerializer, **SESSION_ERRORS},
    )
    def post(self, request: Request) -> Response:
        """Admins only. Every flag starts disabled in the new environment."""
        policy.require_admin(request.user, "create environments")
        data = parsed(s.EnvironmentCreateSerializer, request)
        with config_errors_as_400():
            env = changes.environment_create(actor=actor_for(request), **data)
        return Response(s.EnvironmentSerializer(env).data, status=status.HTTP_201_CREATED)


SEGMENT_TAGS = ["management: segments"]


class SegmentListView(ManagementView):
    @extend_schema(
        operation_id="segments_list",
        tags=SEGMENT_TAGS,
        responses={200: s.SegmentSerializer(many=True), **SESSION_ERRORS},
    )
    def get(self, request: Request) -> Response:
        return Response(s.SegmentSerializer(Segment.objects.all(), many=True).data)

    @extend_schema(
        operation_id="segments_create",
        tags=SEGMENT_TAGS,
        request=s.SegmentCreateSerializer,
        responses={201: s.SegmentSerializer, **SESSION_ERRORS},
    )
    def post(self, request: Request) -> Response:
        """A new segment changes nothing until a rule uses it: editors may create one."""
        policy.require_segment_change(request.user, None)
        data = parsed(s.SegmentCreateSerializer, request)
        key, name = data.pop("key"), data.pop("name", "")
        with config_errors_as_400():
            segment = changes.segment_create(key=key, name=name, actor=actor_for(request), **data)
        return Response(s.SegmentSerializer(segment).data, status=status.HTTP_201_CREATED)


class SegmentDetailView(ManagementView):
    @extend_schema(
        operation_id="segments_retrieve",
        tags=SEGMENT_TAGS,
        responses={200: s.SegmentSerializer, **SESSION_ERRORS},
    )
    def get(self, request: Request, key: str) -> Response:
        return Response(s.SegmentSerializer(segment_get(key)).data)

    @extend_schema(
        operation_id="segments_update",
        tags=SEGMENT_TAGS,
        request=s.SegmentFieldsSerializer,
        responses={200: s.SegmentSerializer, **SESSION_ERRORS},
    )
    def patch(self, request: Request, key: str) -> Response:
        """Editors change segments production does not use; a segment a production rule uses,
        directly or through other segments, needs an admin and a comment (flags.policy)."""
        segment = segment_get(key)
        policy.require_segment_change(request.user, segment)
        data = parsed(s.SegmentFieldsSerializer, request, partial=True)
        comment = data.pop("comment", "")
        with config_errors_as_400():
            segment = changes.segment_update(
                segment=segment, actor=actor_for(request), comment=comment, **data
            )
        return Response(s.SegmentSerializer(segment).data)


class SegmentVersionsView(ManagementView):
    @extend_schema(
        operation_id="segments_versions_list",
        tags=SEGMENT_TAGS,
        responses={200: s.VersionSerializer(many=True), **SESSION_ERRORS},
    )
    def get(self, request: Request, key: str) -> Response:
        segment = segment_get(key)
        versions = Version.objects.filter(segment=segment).select_related("segment", "author")
        return Response(s.VersionSerializer(versions[:500], many=True).data)


class VersionRollbackView(ManagementView):
    @extend_schema(
        operation_id="versions_rollback",
        tags=["management: versions"],
        request=s.RollbackSerializer,
        responses={201: s.VersionSerializer, **SESSION_ERRORS},
    )
    def post(self, request: Request, pk: int) -> Response:
        """Roll back: write a new version equal to this one (history is never rewritten)."""
        version = get_object_or_404(
            Version.objects.select_related("flag", "environment", "segment"), pk=pk
        )
        policy.require_version_restore(request.user, version)
        data = parsed(s.RollbackSerializer, request)
        with config_errors_as_400():
            new = changes.version_restore(
                version=version, actor=actor_for(request), comment=data["comment"]
            )
        return Response(s.VersionSerializer(new).data, status=status.HTTP_201_CREATED)


TOKEN_TAGS = ["management: personal tokens"]


class TokenListView(ManagementView):
    # Creating a token needs a logged-in person: a token must not mint more tokens.
    @extend_schema(
        operation_id="tokens_list",
        tags=TOKEN_TAGS,
        responses={200: s.TokenSerializer(many=True), **SESSION_ERRORS},
    )
    def get(self, request: Request) -> Response:
        tokens = PersonalToken.objects.filter(user=request_user(request))
        return Response(s.TokenSerializer(tokens, many=True).data)

    @extend_schema(
        operation_id="tokens_create",
        tags=TOKEN_TAGS,
        request=s.TokenCreateSerializer,
        responses={201: s.NewTokenSerializer, **SESSION_ERRORS},
    )
    def post(self, request: Request) -> Response:
        if not isinstance(request.successful_authenticator, authentication.SessionAuthentication):
            raise exceptions.PermissionDenied("Log in to create personal tokens.")
        data = parsed(s.TokenCreateSerializer, request, write=False)
        token, raw = personal_token_create(user=request_user(request), name=data["name"])
        out = dict(s.TokenSerializer(token).data) | {"token": raw}
        return Response(out, status=status.HTTP_201_CREATED)


class TokenDetailView(ManagementView):
    @extend_schema(
        operation_id="tokens_revoke",
        tags=TOKEN_TAGS,
        request=None,
        responses={204: OpenApiResponse(description="Revoked."), **SESSION_ERRORS},
    )
    def delete(self, request: Request, pk: int) -> Response:
        token = get_object_or_404(PersonalToken, pk=pk, user=request.user)
        personal_token_revoke(token=token, actor=actor_for(request))
        return Response(status=status.HTTP_204_NO_CONTENT)
