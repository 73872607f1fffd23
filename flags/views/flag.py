"""A flag's page (targeting per environment + try it), its settings, and creating flags."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone

from flags.changes import flag_create, flag_update
from flags.forms import (
    Errors,
    default_variants,
    form_count,
    parse_variants,
    split_list,
    variant_value_text,
)
from flags.models import Environment, FlagKind, Lifecycle
from flags.policy import access_for, production_exists, require_flag_update, require_write

from ._common import (
    HtmxHttpRequest,
    actor,
    change_errors,
    comment_from,
    get_flag,
    page,
    split_errors,
)
from .dashboard import flag_row
from .editor import variants_vm
from .rules import targeting_context


@login_required
def flag_detail(request: HttpRequest, key: str) -> HttpResponse:
    flag = get_flag(key)
    environments = list(Environment.objects.all())
    env_key = request.GET.get("env")
    environment = next((e for e in environments if e.key == env_key), None) or (
        environments[0] if environments else None
    )
    if environment is None:
        messages.warning(request, "Create an environment first.")
        return redirect("environments")
    mode = "json" if request.GET.get("mode") == "json" else "form"
    context = targeting_context(request, flag, environment, mode=mode)
    return page(request, "flags/flag.html", context, partial="flags/_targeting.html")


def _variant_texts(post: Any) -> list[str]:
    return [post.get(f"v{i}-value", "") for i in range(form_count(post, "variant_count"))]


def _variant_op(
    variants: list[dict[str, Any]], raw: list[str], op: str, kind: str
) -> tuple[list[dict[str, Any]], list[str], str]:
    """Add or remove a variant row, keeping what was typed in the other rows."""
    name, _, arg = op.partition(":")
    if name == "add_variant":
        blanks: dict[str, Any] = {FlagKind.BOOLEAN: False, FlagKind.NUMBER: 0, FlagKind.JSON: {}}
        blank = blanks.get(kind, "")
        variants.append({"key": "", "value": blank})
        raw.append(variant_value_text(kind, blank))
        return variants, raw, f"v{len(variants) - 1}-key"
    if name == "remove_variant" and arg.isdigit() and int(arg) < len(variants):
        variants.pop(int(arg))
        raw.pop(int(arg))
    return variants, raw, "add-variant"


def _initial_serve(variants: list[dict[str, Any]]) -> tuple[int, int]:
    """Which variants a new flag serves when on and when off, before anyone picks: the first
    variant when on; when off, the first variant whose value is false/null, else the first."""
    off = next((i for i, v in enumerate(variants) if v.get("value") in (False, None)), 0)
    return 0, off


def _index(post: Any, name: str, count: int, fallback: int) -> int:
    raw = post.get(name, "")
    return int(raw) if raw.isdigit() and int(raw) < count else fallback


def _after_removal(index: int, op: str) -> int:
    """Keep a serve choice on the same variant when a row above it is removed."""
    name, _, arg = op.partition(":")
    if name != "remove_variant" or not arg.isdigit():
        return index
    removed = int(arg)
    return 0 if index == removed else index - (index > removed)


@login_required
def flag_new(request: HtmxHttpRequest) -> HttpResponse:
    require_write(request.user)
    kind = request.POST.get("kind") or request.GET.get("kind") or FlagKind.BOOLEAN
    if kind not in FlagKind.values:
        kind = FlagKind.BOOLEAN
    values = {k: request.POST.get(k, "") for k in ("key", "name", "description", "tags")}
    errors: list[tuple[str, str]] = []
    focus = ""
    raw: list[str] | None = None
    if request.method != "POST":
        variants = default_variants(kind)
        on_index, off_index = _initial_serve(variants)
    else:
        op = request.POST.get("op", "save")
        variants, errors = parse_variants(request.POST, kind)
        raw = _variant_texts(request.POST)
        on_index, off_index = _initial_serve(variants)
        on_index = _index(request.POST, "default_index", len(variants), on_index)
        off_index = _index(request.POST, "off_index", len(variants), off_index)
        if op == "kind":
            variants, errors, raw, focus = default_variants(kind), [], None, "id_kind"
            on_index, off_index = _initial_serve(variants)
        elif op != "save":
            on_index, off_index = _after_removal(on_index, op), _after_removal(off_index, op)
            variants, raw, focus = _variant_op(variants, raw, op, kind)
            errors = []
        elif not errors:
            try:
                flag = flag_create(
                    key=values["key"].strip(),
                    name=values["name"].strip(),
                    kind=kind,
                    variants=variants,
                    description=values["description"].strip(),
                    tags=split_list(values["tags"]),
                    owner=request.user,
                    actor=actor(request),
                    comment=comment_from(request),
                    default_variant=variants[on_index]["key"],
                    off_variant=variants[off_index]["key"],
                )
            except ValidationError as exc:  # ConfigError, or a model field's own check
                errors = change_errors(exc)
            else:
                messages.success(request, f"Created {flag.key}. It is off everywhere.")
                target = reverse("flag_detail", args=[flag.key])
                if request.htmx:
                    # A redirect would be followed inside the fetch and its page swapped into
                    # the form: tell htmx to load the flag's page as a whole page instead.
                    response = HttpResponse(status=204)
                    response["HX-Redirect"] = target
                    return response
                return redirect(target)
    grouped = split_errors(errors)
    context = {
        "values": values,
        "kind": kind,
        "kinds": FlagKind.choices,
        "variants": variants_vm(kind, variants, errors, raw),
        "variant_count": len(variants),
        "default_index": on_index,
        "off_index": off_index,
        "field_errors": grouped["fields"],
        "focus": focus,
    }
    status = 400 if errors and not request.htmx else 200
    return page(
        request, "flags/flag_new.html", context, partial="flags/_flag_new_form.html", status=status
    )


def _keep_extra_fields(
    variants: list[dict[str, Any]], originals: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Fields the form does not edit (a variant's description) survive a save."""
    by_key = {v.get("key"): v for v in originals}
    out = []
    for variant in variants:
        original = by_key.get(variant["key"], {})
        extra = {k: v for k, v in original.items() if k not in ("key", "value", "name")}
        out.append({**extra, **variant})
    return out


@login_required
def flag_settings(request: HtmxHttpRequest, key: str) -> HttpResponse:
    flag = get_flag(key)
    access = access_for(request.user)
    values = {
        "name": flag.name,
        "description": flag.description,
        "tags": ", ".join(flag.tags),
        "lifecycle": flag.lifecycle,
        "owner": str(flag.owner_id or ""),
    }
    owners = list(get_user_model().objects.filter(is_active=True).order_by("username"))
    variants, raw, focus = list(flag.variants), None, ""
    errors: Errors = []
    has_production = production_exists()
    if request.method == "POST":
        require_write(request.user)
        values = {k: request.POST.get(k, "").strip() for k in values}
        variants, errors = parse_variants(request.POST, flag.kind)
        variants = _keep_extra_fields(variants, flag.variants)
        raw = _variant_texts(request.POST)
        op = request.POST.get("op", "save")
        if op != "save":
            variants, raw, focus = _variant_op(variants, raw, op, flag.kind)
            errors = []
        elif not errors:
            changes: dict[str, Any] = {
                "name": values["name"],
                "description": values["description"],
                "tags": split_list(values["tags"]),
                "lifecycle": values["lifecycle"],
                "variants": variants,
            }
            owner_ids = {str(u.pk): u.pk for u in owners}
            if flag.owner_id is not None:
                owner_ids.setdefault(str(flag.owner_id), flag.owner_id)  # kept if deactivated
            if "owner" not in request.POST:
                values["owner"] = str(flag.owner_id or "")  # a form without the field keeps it
            elif values["owner"] and values["owner"] not in owner_ids:
                errors = [("owner", "Choose an active user (or no owner).")]
            else:
                changes["owner_id"] = owner_ids.get(values["owner"])
            if not errors and changes["lifecycle"] not in Lifecycle.values:
                errors = [("lifecycle", "Choose a lifecycle.")]
            elif not errors:
                # Variants and lifecycle change what production serves: admins only.
                require_flag_update(request.user, flag, changes)
            if not errors:
                try:
                    flag = flag_update(
                        flag=flag, actor=actor(request), comment=comment_from(request), **changes
                    )
                except ValidationError as exc:  # ConfigError, or a model field's own check
                    errors = change_errors(exc)
                else:
                    messages.success(
                        request, f"Saved {flag.key} (definition version {flag.version})."
                    )
                    return redirect("flag_settings", key=flag.key)
    grouped = split_errors(errors)
    context = {
        "flag": flag,
        "tab": "settings",
        "values": values,
        "lifecycles": Lifecycle.choices,
        "owners": owners,
        "variants": variants_vm(flag.kind, variants, errors, raw),
        "variant_count": len(variants),
        "field_errors": grouped["fields"],
        "focus": focus,
        "can_edit": access.can_write,
        "can_edit_variants": access.may(production=has_production),
        "has_production": has_production,
        "environments": list(Environment.objects.all()),
        "row": flag_row(flag, list(Environment.objects.all()), request.user, timezone.now()),
    }
    status = 400 if errors and not request.htmx else 200
    return page(
        request, "flags/settings.html", context, partial="flags/_settings_form.html", status=status
    )
