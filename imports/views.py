"""The "Import from Unleash" pages: paste or upload, review the plan, apply once, watch it run."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from flags.models import Environment
from flags.policy import access_for, require_environment, require_write
from flags.validation import ConfigError
from flags.views._common import diff_rows
from flagsite.rendering import page

from . import jobs
from .models import ImportJob
from .source import ImportInputError, import_source_read, max_bytes, size_text


def _form_context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    access = access_for(request.user)
    return {
        "environments": [e for e in Environment.objects.all() if access.can_change(e)],
        "max_size": size_text(max_bytes()),
        "paste_size": size_text(settings.DATA_UPLOAD_MAX_MEMORY_SIZE),
        "inline_max": settings.FLAGSITE_IMPORT_INLINE_MAX_FLAGS,
        **extra,
    }


@login_required
def import_new(request: HttpRequest) -> HttpResponse:
    """GET: the form. POST: read the document, store its plan, redirect to it (PRG)."""
    require_write(request.user)
    if request.method != "POST":
        return page(request, "imports/new.html", _form_context(request))
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > max_bytes() + settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
        # Refused before Django spools the upload to disk: a file alone may be max_bytes().
        message = f"The upload is {size_text(declared)}; the limit is {size_text(max_bytes())}."
        return _refused(request, {}, "file", message, status=413)
    try:
        post, files = request.POST, request.FILES
    except RequestDataTooBig:  # pasted text over DATA_UPLOAD_MAX_MEMORY_SIZE
        message = (
            f"The pasted text is over {size_text(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)}; "
            f"upload it as a file instead (up to {size_text(max_bytes())})."
        )
        return _refused(request, {}, "document", message, status=413)
    values = {"environment": post.get("environment", ""), "document": post.get("document", "")}
    environment = Environment.objects.filter(key=values["environment"]).first()
    if environment is None:
        return _refused(request, values, "environment", "Choose the environment to import into.")
    require_environment(request.user, environment)
    upload = files.get("file")
    field = "file" if upload is not None else "document"
    name = (upload.name or "the file") if upload is not None else ""
    size = (upload.size or 0) if upload is not None else len(values["document"].encode())
    try:
        if size > max_bytes():  # before reading the upload
            limit = size_text(max_bytes())
            raise ImportInputError(
                field, f"{name} is {size_text(size)}; the limit is {limit}.", 413
            )
        raw = upload.read() if upload is not None else values["document"]
        data = import_source_read(raw, field=field)
    except ImportInputError as exc:
        return _refused(request, values, exc.field, exc.message, status=exc.status)
    job = jobs.import_job_create(
        data=data, environment=environment, user=request.user, source_name=name, source_bytes=size
    )
    return redirect("import_detail", token=job.token)


def _refused(
    request: HttpRequest, values: dict[str, str], field: str, message: str, status: int = 400
) -> HttpResponse:
    context = _form_context(request, values=values, errors={field: [message]})
    return page(request, "imports/new.html", context, status=status)


def _job(token: Any) -> ImportJob:
    return get_object_or_404(
        ImportJob.objects.select_related("environment", "created_by", "applied_by", "audit_event"),
        token=token,
    )


@login_required
def import_detail(request: HttpRequest, token: Any) -> HttpResponse:
    """The plan (planned), the progress (queued, running: htmx polls this URL for the status
    fragment, which stops polling once finished) or the result."""
    job = _job(token)
    access = access_for(request.user)
    may_apply = access.may(production=bool(job.plan.get("reaches_production")))
    context = _detail_context(job, may_apply=may_apply)
    return page(request, "imports/detail.html", context, partial="imports/_status.html")


def _detail_context(job: ImportJob, **extra: Any) -> dict[str, Any]:
    """The job and its plan, with each diff made readable for includes/diff.html."""
    plan = dict(job.plan)
    plan["flags"] = [
        row
        | {
            "definition_rows": diff_rows(row["definition_diff"]),
            "config_rows": diff_rows(row["config_diff"]),
        }
        for row in plan.get("flags", [])
    ]
    plan["segments"] = [
        row | {"diff_rows": diff_rows(row["diff"])} for row in plan.get("segments", [])
    ]
    context = {
        "job": job,
        "plan": plan,
        "inline_max": settings.FLAGSITE_IMPORT_INLINE_MAX_FLAGS,
        "errors": {},
    }
    return context | extra


@login_required
@require_POST
def import_apply(request: HttpRequest, token: Any) -> HttpResponse:
    job = _job(token)
    comment = (request.POST.get("comment") or "").strip()[:2000]
    try:
        outcome = jobs.import_job_apply(job=job, user=request.user, comment=comment)
    except ConfigError as exc:  # a missing production comment, or a plan that cannot apply
        errors: dict[str, list[str]] = {}
        for path, message in exc.errors:
            errors.setdefault(path or "plan", []).append(message)
        context = _detail_context(job, may_apply=True, comment=comment, errors=errors)
        return page(request, "imports/detail.html", context, status=400)
    if outcome == jobs.ALREADY:
        messages.info(request, "This import was already applied; nothing was done again.")
    elif outcome == jobs.REPLANNED:
        messages.warning(
            request,
            "Flags or segments changed since this plan was made, so nothing was imported. "
            "The plan below is new: review it and apply again.",
        )
    return redirect("import_detail", token=job.token)
