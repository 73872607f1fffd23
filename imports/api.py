"""Importing from Unleash through the management API: plan, read, apply once.

The same functions as the page (imports/views.py): `import_document_check` (shape, limits,
storable text), `flags.policy` (who may import where), `imports.jobs` (the plan, the one move
out of `planned`, the Celery job). docs/api.md, "Importing from Unleash".
"""

from __future__ import annotations

import uuid
from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from delivery.schema_docs import ErrorSerializer
from flags import policy
from flags.api.access import ManagementView, config_errors_as_400, parsed, request_user
from flags.api.schema_docs import SESSION_ERRORS
from flags.models import Environment
from flagsite.jsonbody import BodyTooLarge, JsonInputError, json_parse
from flagsite.storable import text_unstorable

from . import jobs
from .document import ImportInputError, import_document_check
from .models import ImportJob
from .source import max_bytes, size_text

TAGS = ["management: imports"]
BODY_FIELDS = ("environment", "document")
EXAMPLE = OpenApiExample(
    "A rollout to a quarter of the users",
    request_only=True,
    value={
        "environment": "development",
        "document": {
            "version": 2,
            "features": [
                {
                    "name": "checkout-v2",
                    "enabled": True,
                    "strategies": [
                        {"name": "flexibleRollout", "parameters": {"rollout": "25"}},
                    ],
                }
            ],
            "segments": [],
        },
    },
)


class ImportCreateSerializer(serializers.Serializer):
    """Describes the body for /api/schema/; the view reads it itself (a larger body limit)."""

    environment = serializers.CharField(help_text="The key of the environment to import into.")
    document = serializers.DictField(
        help_text="Unleash's client API document (GET /api/client/features): "
        "`{version, features, segments}`."
    )


class ImportApplySerializer(serializers.Serializer):
    comment = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=2000, trim_whitespace=True
    )


class ImportSerializer(serializers.Serializer):
    token = serializers.UUIDField()
    environment = serializers.CharField(source="environment.key")
    status = serializers.ChoiceField(choices=ImportJob.Status.choices)
    plan = serializers.DictField(
        help_text="What applying would do: `flags` and `segments` (each with `action` create, "
        "change or unchanged, and diffs), `warnings`, `blocking`, `counts`, `steps`, "
        "`reaches_production`."
    )
    done = serializers.IntegerField(help_text="Steps done so far (progress).")
    total = serializers.IntegerField(help_text="Steps in all: segments, then each flag twice.")
    percent = serializers.IntegerField()
    in_worker = serializers.BooleanField(help_text="Run by the Celery worker (a large import).")
    created_at = serializers.DateTimeField()
    created_by = serializers.CharField(source="created_by.username", allow_null=True)
    applied_by = serializers.CharField(source="applied_by.username", allow_null=True)
    comment = serializers.CharField()
    source_bytes = serializers.IntegerField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    result = serializers.DictField(
        help_text='Once succeeded: {"flags": {"create": [...], "change": [...]}, "segments": ...}.'
    )
    # declared fields leave the class body (DRF's metaclass): Serializer.errors is not replaced
    errors = serializers.ListField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Once failed: [path, message] pairs.",
    )
    audit_event = serializers.IntegerField(source="audit_event_id", allow_null=True)


def _data(job: ImportJob) -> dict[str, Any]:
    job = ImportJob.objects.select_related(
        "environment", "created_by", "applied_by", "audit_event"
    ).get(pk=job.pk)
    return dict(ImportSerializer(job).data)


def _job_get(token: str) -> ImportJob:
    try:
        job = ImportJob.objects.select_related("environment").filter(token=uuid.UUID(token)).first()
    except ValueError:  # not a UUID: no such import either
        job = None
    if job is None:
        raise exceptions.NotFound(f"No import {token!r:.60}.")
    return job


def _invalid(field: str, message: str) -> exceptions.ValidationError:
    return exceptions.ValidationError({field: [message]})


def _body(request: Request) -> tuple[dict[str, Any], int]:
    """The parsed body and its size. Read here rather than by DRF's parser: an import may be
    up to FLAGSITE_IMPORT_MAX_BYTES (10 MB), more than the API's usual 2.5 MB body limit."""
    limit = max_bytes()
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise _invalid("body", "The Content-Length header must be a whole number.") from None
    too_large = f"The body is {{}}; the limit is {size_text(limit)} (FLAGSITE_IMPORT_MAX_BYTES)."
    if declared > limit:
        raise BodyTooLarge(too_large.format(size_text(declared)))
    # HttpRequest.read, unlike .body, is not bound by DATA_UPLOAD_MAX_MEMORY_SIZE.
    raw = request._request.read(limit + 1)
    if len(raw) > limit:
        raise BodyTooLarge(too_large.format(f"over {size_text(limit)}"))
    try:
        body = json_parse(raw)
    except JsonInputError as exc:
        raise _invalid("body", exc.message) from None
    if not isinstance(body, dict):
        raise _invalid("body", 'Expected a JSON object: {"environment": ..., "document": {...}}.')
    unknown = sorted(set(body) - set(BODY_FIELDS))
    if unknown:
        # A key that is not storable text (NUL, a lone surrogate) cannot name itself in the answer
        raise exceptions.ValidationError(
            {("body" if text_unstorable(k) else k[:100]): ["Unknown field."] for k in unknown[:10]}
        )
    return body, len(raw)


def _environment(value: Any) -> Environment:
    if not isinstance(value, str) or not value:
        raise _invalid("environment", "The key of the environment to import into (text).")
    problem = text_unstorable(value)
    environment = None if problem else Environment.objects.filter(key=value).first()
    if environment is None:
        known = ", ".join(Environment.objects.values_list("key", flat=True)) or "none"
        raise _invalid("environment", f"No such environment; known environments: {known}.")
    return environment


class ImportCreateView(ManagementView):
    @extend_schema(
        operation_id="imports_unleash_create",
        tags=TAGS,
        request=ImportCreateSerializer,
        examples=[EXAMPLE],
        responses={
            201: ImportSerializer,
            **SESSION_ERRORS,
            413: OpenApiResponse(ErrorSerializer, "The body is over FLAGSITE_IMPORT_MAX_BYTES."),
        },
    )
    def post(self, request: Request) -> Response:
        """Plan an import of an Unleash document into an environment: nothing is applied yet
        (status `planned`); review `plan`, then POST …/apply."""
        policy.require_write(request.user)  # before the body is read: a viewer gets 403
        body, size = _body(request)
        environment = _environment(body.get("environment"))
        policy.require_environment(request.user, environment)
        if "document" not in body:
            raise _invalid("document", "The Unleash document (an object) is required.")
        try:
            data = import_document_check(body["document"], field="document")
        except ImportInputError as exc:
            path = f"document.{exc.path}" if exc.path else "document"
            raise _invalid(path, exc.problem) from None
        job = jobs.import_job_create(
            data=data, environment=environment, user=request.user, source_bytes=size
        )
        headers = {"Location": f"/api/v1/imports/{job.token}"}
        return Response(_data(job), status=status.HTTP_201_CREATED, headers=headers)


class ImportDetailView(ManagementView):
    @extend_schema(
        operation_id="imports_get",
        tags=TAGS,
        responses={200: ImportSerializer, **SESSION_ERRORS},
    )
    def get(self, request: Request, token: str) -> Response:
        """The import: its plan, status (planned, queued, running, succeeded, failed), progress
        (`done` of `total`), and `result` or `errors` once finished."""
        return Response(_data(_job_get(token)))


class ImportApplyView(ManagementView):
    @extend_schema(
        operation_id="imports_apply",
        tags=TAGS,
        request=ImportApplySerializer,
        responses={202: ImportSerializer, **SESSION_ERRORS},
    )
    def post(self, request: Request, token: str) -> Response:
        """Apply a planned import once (the page's "Apply"): small imports run at once, large
        ones in the worker (poll GET). A `comment` is required when it reaches production.
        Applied before: 400 on `status`. Flags or segments changed since the plan: 400 on
        `plan`, and the import holds the new plan to review and apply."""
        job = _job_get(token)
        data = parsed(ImportApplySerializer, request)
        with config_errors_as_400():
            outcome = jobs.import_job_apply(
                job=job, user=request_user(request), comment=data["comment"]
            )
        if outcome == jobs.ALREADY:
            job.refresh_from_db(fields=["status"])
            raise _invalid(
                "status", f"This import was already applied (it is {job.status}); nothing was done."
            )
        if outcome == jobs.REPLANNED:
            raise _invalid(
                "plan",
                "Flags or segments changed since this plan was made, so nothing was imported. "
                "The import now holds a new plan: review it (GET) and apply again.",
            )
        return Response(_data(job), status=status.HTTP_202_ACCEPTED)
