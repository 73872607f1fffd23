"""The rollout management API: plans of a flag in one environment, and their actions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response

from delivery.schema_docs import ErrorSerializer
from flags import policy
from flags.api.access import (
    ManagementView,
    actor_for,
    config_errors_as_400,
    environment_get,
    flag_get,
    parsed,
)
from flags.api.schema_docs import SESSION_ERRORS

from . import editing, plans
from . import serializers as s
from .models import RolloutPlan, ScheduledChange
from .scheduled import scheduled_change_cancel, scheduled_change_create
from .validation import plan_specs_from

TAGS = ["management: rollouts"]

ACTIONS: dict[str, Callable[..., RolloutPlan]] = {
    "start": plans.plan_start,
    "pause": plans.plan_pause,
    "resume": plans.plan_resume,
    "advance": plans.plan_advance,
    "rollback": plans.plan_rollback,
    "cancel": plans.plan_cancel,
}


def _plan_data(plan: RolloutPlan) -> dict[str, Any]:
    plan = RolloutPlan.objects.prefetch_related("phases", "gates", "events").get(pk=plan.pk)
    return dict(s.PlanSerializer(plan).data)


class PlanListView(ManagementView):
    @extend_schema(
        operation_id="rollouts_list",
        tags=TAGS,
        responses={200: s.PlanSerializer(many=True), **SESSION_ERRORS},
    )
    def get(self, request: Request, key: str, env: str) -> Response:
        """The flag's rollout plans in this environment, newest first."""
        rows = RolloutPlan.objects.filter(flag=flag_get(key), environment=environment_get(env))
        rows = rows.prefetch_related("phases", "gates", "events").select_related(
            "flag", "environment"
        )
        return Response(s.PlanSerializer(rows, many=True).data)

    @extend_schema(
        operation_id="rollouts_create",
        tags=TAGS,
        request=s.PlanCreateSerializer,
        responses={201: s.PlanSerializer, **SESSION_ERRORS},
    )
    def post(self, request: Request, key: str, env: str) -> Response:
        """A plan from a template (canary, feature_rollout) or explicit phases and gates (the
        default gates when none are given); `start: true` starts it at once."""
        flag, environment = flag_get(key), environment_get(env)
        policy.require_environment(request.user, environment)
        data = parsed(s.PlanCreateSerializer, request)
        # The page's rows go through the same serializers and plan_specs_from (validation.py).
        phase_specs, gate_specs = plan_specs_from(data.get("phases", []), data.get("gates", []))
        phases = phase_specs if data.get("phases") else None
        gates = gate_specs if data.get("gates") else None
        actor = actor_for(request)
        with config_errors_as_400():
            plan = plans.plan_create(
                flag=flag,
                environment=environment,
                variant=data["variant"],
                replaces=data["replaces"],
                template=data["template"],
                name=data["name"],
                phases=phases,
                gates=gates,
                actor=actor,
            )
            if data["start"]:
                plan = plans.plan_start(plan=plan, actor=actor, comment=data["comment"])
        return Response(_plan_data(plan), status=status.HTTP_201_CREATED)


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "The plan changed since you read it."
    default_code = "precondition_failed"


def _with_etag(plan: RolloutPlan) -> Response:
    """The plan and its revision as a strong ETag (what PATCH's If-Match names)."""
    data = _plan_data(plan)
    return Response(data, headers={"ETag": f'"{data["revision"]}"'})


def _if_match(request: Request, plan: RolloutPlan) -> bool:
    """Whether an If-Match was sent; one naming another revision (or unreadable) is a 412."""
    header = request.headers.get("If-Match")
    if header is None:
        return False
    tags = {tag.strip().strip('"') for tag in header.split(",")}
    if "*" not in tags and str(plan.revision) not in tags:
        raise PreconditionFailed(
            f"rollout #{plan.pk} changed meanwhile: it is at revision {plan.revision} "
            f'(ETag "{plan.revision}"); read it again.'
        )
    return True


IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    description='The plan\'s ETag (`"<revision>"`) as read; a plan changed since is a 412.',
)


class PlanDetailView(ManagementView):
    @extend_schema(
        operation_id="rollouts_get",
        tags=TAGS,
        responses={200: s.PlanSerializer, **SESSION_ERRORS},
    )
    def get(self, request: Request, pk: int) -> Response:
        """A plan with its phases, gates and log; `revision` is also its `ETag`."""
        return _with_etag(get_object_or_404(RolloutPlan, pk=pk))

    @extend_schema(
        operation_id="rollouts_edit",
        tags=TAGS,
        request=s.PlanEditDocSerializer,
        parameters=[IF_MATCH],
        responses={
            200: s.PlanSerializer,
            **SESSION_ERRORS,
            412: OpenApiResponse(ErrorSerializer, "If-Match names an older revision."),
        },
    )
    def patch(self, request: Request, pk: int) -> Response:
        """A draft: `phases`, `gates` (each replaces the draft's; absent stays) and `name`. A
        running or paused plan: only its gates' threshold, window, sample and compare with
        control, each `gates` item matched by `metric`, with a `comment` (docs/rollouts.md,
        "Through the API"). The page's edit form runs the same function."""
        plan = get_object_or_404(RolloutPlan.objects.select_related("flag", "environment"), pk=pk)
        policy.require_environment(request.user, plan.environment)
        data = parsed(s.PlanEditSerializer, request)
        conditional = _if_match(request, plan)
        with config_errors_as_400():
            try:
                plan = editing.plan_edit_data(
                    plan=plan,
                    actor=actor_for(request),
                    phases=data.get("phases"),
                    gates=data.get("gates"),
                    name=data.get("name"),
                    comment=data["comment"],
                )
            except plans.PlanConflict as exc:
                if conditional:
                    raise PreconditionFailed(str(exc)) from None
                raise exceptions.ValidationError({"status": [str(exc)]}) from None
        return _with_etag(plan)


class PlanActionView(ManagementView):
    @extend_schema(
        operation_id="rollouts_action",
        tags=TAGS,
        request=s.PlanActionSerializer,
        responses={200: s.PlanSerializer, **SESSION_ERRORS},
    )
    def post(self, request: Request, pk: int, action: str) -> Response:
        """start, pause, resume, advance (now), rollback (now) or cancel (a draft), with a
        comment (required in production)."""
        if action not in ACTIONS:
            raise exceptions.NotFound(f"No action {action!r}; one of {', '.join(ACTIONS)}.")
        plan = get_object_or_404(RolloutPlan.objects.select_related("flag", "environment"), pk=pk)
        policy.require_environment(request.user, plan.environment)
        data = parsed(s.PlanActionSerializer, request)
        with config_errors_as_400():
            try:
                plan = ACTIONS[action](plan=plan, actor=actor_for(request), comment=data["comment"])
            except plans.PlanConflict as exc:
                raise exceptions.ValidationError({"status": [str(exc)]}) from None
        return Response(_plan_data(plan))


class ScheduledListView(ManagementView):
    @extend_schema(
        operation_id="scheduled_changes_list",
        tags=TAGS,
        responses={200: s.ScheduledChangeSerializer(many=True), **SESSION_ERRORS},
    )
    def get(self, request: Request, key: str, env: str) -> Response:
        rows = ScheduledChange.objects.filter(
            flag=flag_get(key), environment=environment_get(env)
        ).select_related("flag", "environment")
        return Response(s.ScheduledChangeSerializer(rows, many=True).data)

    @extend_schema(
        operation_id="scheduled_changes_create",
        tags=TAGS,
        request=s.ScheduledChangeSerializer,
        responses={201: s.ScheduledChangeSerializer, **SESSION_ERRORS},
    )
    def post(self, request: Request, key: str, env: str) -> Response:
        """Schedule a configuration change (`changes`: any of enabled, off_variant, rules,
        default, prerequisites) for `run_at`; the rollout job applies it when due."""
        flag, environment = flag_get(key), environment_get(env)
        policy.require_environment(request.user, environment)
        data = parsed(s.ScheduledChangeSerializer, request)
        if not isinstance(data["changes"], dict):
            raise exceptions.ValidationError({"changes": ["An object of configuration fields."]})
        with config_errors_as_400():
            change = scheduled_change_create(
                flag=flag,
                environment=environment,
                changes=data["changes"],
                run_at=data["run_at"],
                comment=data.get("comment", ""),
                actor=actor_for(request),
            )
        return Response(s.ScheduledChangeSerializer(change).data, status=status.HTTP_201_CREATED)


class ScheduledCancelView(ManagementView):
    @extend_schema(
        operation_id="scheduled_changes_cancel",
        tags=TAGS,
        request=s.PlanActionSerializer,
        responses={200: s.ScheduledChangeSerializer, **SESSION_ERRORS},
    )
    def post(self, request: Request, pk: int) -> Response:
        change = get_object_or_404(
            ScheduledChange.objects.select_related("flag", "environment"), pk=pk
        )
        policy.require_environment(request.user, change.environment)
        data = parsed(s.PlanActionSerializer, request)
        with config_errors_as_400():
            change = scheduled_change_cancel(
                change=change, actor=actor_for(request), comment=data["comment"]
            )
        return Response(s.ScheduledChangeSerializer(change).data)
