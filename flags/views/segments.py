"""Segments: the list, create/edit (bulk paste of keys, clauses, percentage), where each is used."""

from __future__ import annotations

import copy
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect

from flags.changes import segment_create, segment_update
from flags.forms import OPERATORS, parse_clauses, split_list
from flags.models import AuditEvent, FlagConfig, Segment, Version
from flags.policy import access_for, require_segment_change, segment_reaches_production

from ._common import HtmxHttpRequest, actor, change_errors, comment_from, page, split_errors
from .editor import clause_vm
from .history import restore_preview

FIELDS = ("key", "name", "description", "included", "excluded", "percentage", "bucket_by")


def segment_versions(segment: Segment, limit: int = 20) -> list[Version]:
    """The segment's latest versions, newest first; older ones carry what a rollback changes."""
    versions = list(
        Version.objects.filter(subject=Version.Subject.SEGMENT, segment=segment)
        .select_related("author")
        .order_by("-number")[:limit]
    )
    for version in versions[1:]:
        version.preview = restore_preview(versions[0], version)  # type: ignore[attr-defined]
    return versions


def segment_usage(key: str) -> dict[str, list[Any]]:
    """Flag configurations (by environment) and other segments whose clauses use `key`."""
    flags: list[dict[str, Any]] = []
    for config in FlagConfig.objects.select_related("flag", "environment").order_by(
        "flag__key", "environment__sort_order"
    ):
        names = [
            r.get("name") or r.get("id")
            for r in config.rules or []
            if any(
                c.get("op") == "segment" and key in (c.get("values") or [])
                for c in r.get("clauses") or []
            )
        ]
        if names:
            flags.append({"flag": config.flag, "environment": config.environment, "rules": names})
    segments = [
        s
        for s in Segment.objects.exclude(key=key)
        if any(c.get("op") == "segment" and key in (c.get("values") or []) for c in s.clauses)
    ]
    return {"flags": flags, "segments": segments}


@login_required
def segment_list(request: HttpRequest) -> HttpResponse:
    rows = []
    for segment in Segment.objects.all():
        usage = segment_usage(segment.key)
        rows.append(
            {
                "segment": segment,
                "flag_keys": sorted({u["flag"].key for u in usage["flags"]}),
                "segment_keys": [s.key for s in usage["segments"]],
            }
        )
    return page(request, "segments/list.html", {"rows": rows})


def _parse(post: Any) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    errors: list[tuple[str, str]] = []
    fields: dict[str, Any] = {
        "name": post.get("name", "").strip(),
        "description": post.get("description", "").strip(),
        "included": split_list(post.get("included", "")),
        "excluded": split_list(post.get("excluded", "")),
        "clauses": parse_clauses(post, "s", "clauses", errors),
        "bucket_by": post.get("bucket_by", "").strip() or "key",
        "percentage": None,
    }
    text = post.get("percentage", "").strip()
    if text:
        try:
            fields["percentage"] = float(text)
        except ValueError:
            errors.append(("percentage", "Enter a percentage from 0 to 100."))
        else:
            if not 0 <= fields["percentage"] <= 100:
                errors.append(("percentage", "Enter a percentage from 0 to 100."))
    return fields, errors


def _apply_op(fields: dict[str, Any], op: str) -> tuple[dict[str, Any], str]:
    fields = copy.deepcopy(fields)
    name, _, arg = op.partition(":")
    if name == "add_clause":
        fields["clauses"].append({"attribute": "", "op": "in", "values": []})
        return fields, f"s-c{len(fields['clauses']) - 1}-attribute"
    if name == "remove_clause" and arg.isdigit() and int(arg) < len(fields["clauses"]):
        fields["clauses"].pop(int(arg))
    return fields, "s-add-clause"


def _context(
    segment: Segment | None,
    fields: dict[str, Any],
    errors: list[tuple[str, str]],
    request: HttpRequest,
    focus: str = "",
) -> dict[str, Any]:
    grouped = split_errors(errors)
    clause_errors: dict[int, list[str]] = {}
    for path, message in errors:
        if path.startswith("clauses["):
            index = path[len("clauses[") :].split("]", 1)[0]
            if index.isdigit():
                clause_errors.setdefault(int(index), []).append(message)
    in_production = segment is not None and segment_reaches_production(segment)
    access = access_for(request.user)
    can_edit = access.can_write and (segment is None or access.may(production=in_production))
    return {
        "segment": segment,
        "values": {
            **fields,
            "included": "\n".join(fields.get("included") or []),
            "excluded": "\n".join(fields.get("excluded") or []),
            "percentage": "" if fields.get("percentage") is None else f"{fields['percentage']:g}",
        },
        "clauses": [
            clause_vm(c, f"s-c{j}", clause_errors.get(j, []))
            for j, c in enumerate(fields.get("clauses") or [])
        ],
        "clause_count": len(fields.get("clauses") or []),
        "operators": OPERATORS,
        "segments": [
            (s.key, s.name)
            for s in (Segment.objects.exclude(pk=segment.pk) if segment else Segment.objects.all())
        ],
        "field_errors": {
            k: v for k, v in grouped["fields"].items() if k != "clauses" or not clause_errors
        },
        "usage": segment_usage(segment.key) if segment else None,
        "items": [
            {"event": e, "url": "", "diff": e.diff}
            for e in AuditEvent.objects.filter(object_type="segment", object_key=segment.key)[:20]
        ]
        if segment
        else [],
        "can_edit": can_edit,
        "versions": segment_versions(segment) if segment else [],
        "in_production": in_production,
        "focus": focus,
    }


def _save(request: HtmxHttpRequest, segment: Segment | None) -> HttpResponse:
    require_segment_change(request.user, segment)
    fields, errors = _parse(request.POST)
    key = request.POST.get("key", "").strip() if segment is None else segment.key
    op = request.POST.get("op", "save")
    focus = ""
    if op != "save":
        fields, focus = _apply_op(fields, op)
        errors = []
    elif not errors:
        try:
            if segment is None:
                segment = segment_create(
                    key=key, actor=actor(request), comment=comment_from(request), **fields
                )
            else:
                segment = segment_update(
                    segment=segment, actor=actor(request), comment=comment_from(request), **fields
                )
        except ValidationError as exc:  # ConfigError, or a model field's own check
            errors = change_errors(exc)
        else:
            messages.success(request, f"Saved segment {segment.key}.")
            return redirect("segment_detail", key=segment.key)
    context = _context(segment, fields | {"key": key}, errors, request, focus)
    context["values"]["key"] = key
    context["comment"] = comment_from(request)
    status = 400 if errors and not request.htmx else 200
    return page(
        request, "segments/edit.html", context, partial="segments/_form.html", status=status
    )


@login_required
def segment_new(request: HtmxHttpRequest) -> HttpResponse:
    require_segment_change(request.user, None)
    if request.method == "POST":
        return _save(request, None)
    fields: dict[str, Any] = {
        "clauses": [],
        "included": [],
        "excluded": [],
        "bucket_by": "key",
        "percentage": None,
    }
    return page(request, "segments/edit.html", _context(None, fields, [], request))


@login_required
def segment_detail(request: HtmxHttpRequest, key: str) -> HttpResponse:
    segment = get_object_or_404(Segment, key=key)
    if request.method == "POST":
        return _save(request, segment)
    fields = segment.as_data() | {"key": segment.key}
    return page(request, "segments/edit.html", _context(segment, fields, [], request))
