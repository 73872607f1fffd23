"""Compare a flag's configuration in two environments, and copy one's targeting to the other
(a preview against the target now, then one change through flags.changes)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone

from flags.changes import StaleCopy, flag_config_copy
from flags.compare import copy_plan, variant_uses
from flags.forms import OPERATORS, variant_value_text
from flags.models import Environment, Flag, FlagConfig
from flags.policy import access_for, require_environment, rules_segment_keys

from ._common import HtmxHttpRequest, actor, change_errors, comment_from, diff_rows, get_flag, page
from .dashboard import flag_row
from .editor import config_editor


def _default_pair(environments: list[Environment]) -> tuple[Environment, Environment]:
    """Production (or the last environment) against the environment just before it."""
    b = next((e for e in environments if e.is_production), environments[-1])
    index = environments.index(b)
    return environments[index - 1 if index > 0 else 1], b


def _pick(environments: list[Environment], key: str | None) -> Environment | None:
    return next((e for e in environments if e.key == key), None)


def _row(
    key: str, label: str, a: Any, b: Any, *, kind: str, differs: bool | None = None
) -> dict[str, Any]:
    return {
        "key": key,
        "label": label,
        "a": a,
        "b": b,
        "kind": kind,
        "differs": a != b if differs is None else differs,
    }


def compare_rows(flag: Flag, a: FlagConfig, b: FlagConfig) -> list[dict[str, Any]]:
    """Side-by-side rows, each marked when the two environments differ. Rules are matched by
    id, so the same rule in another position shows as one row."""
    data_a: dict[str, Any] = a.as_data()
    data_b: dict[str, Any] = b.as_data()
    vm_a = config_editor(flag, data_a, [], other_flags=[])
    vm_b = config_editor(flag, data_b, [], other_flags=[])
    values = {v["key"]: variant_value_text(flag.kind, v.get("value")) for v in flag.variants}
    rows = [
        _row(
            "enabled",
            "On / off",
            "On" if a.enabled else "Off",
            "On" if b.enabled else "Off",
            kind="text",
        ),
        _row(
            "off_variant",
            "When off, serves",
            {"key": a.off_variant, "value": values.get(a.off_variant, "")},
            {"key": b.off_variant, "value": values.get(b.off_variant, "")},
            kind="variant",
        ),
        _row(
            "default",
            "Default rule",
            vm_a["default"],
            vm_b["default"],
            kind="serve",
            differs=data_a["default"] != data_b["default"],
        ),
    ]
    rules_a = {r.get("id"): (r, vm) for r, vm in zip(data_a["rules"], vm_a["rules"], strict=True)}
    rules_b = {r.get("id"): (r, vm) for r, vm in zip(data_b["rules"], vm_b["rules"], strict=True)}
    for rule_id in list(rules_a) + [i for i in rules_b if i not in rules_a]:
        ra, rb = rules_a.get(rule_id), rules_b.get(rule_id)
        name = next(r[0].get("name") for r in (ra, rb) if r is not None) or rule_id
        differs = ra is None or rb is None or ra[0] != rb[0] or ra[1]["index"] != rb[1]["index"]
        rows.append(
            _row(
                f"rule:{rule_id}",
                f"Rule: {name}",
                ra[1] if ra else None,
                rb[1] if rb else None,
                kind="rule",
                differs=differs,
            )
        )
    if not rules_a and not rules_b:
        rows.append(_row("rules", "Rules", "No rules", "No rules", kind="text"))
    rows.append(
        _row(
            "prerequisites",
            "Prerequisites",
            [f"{p['flag']} serves {p['variants']}" for p in vm_a["prerequisites"]],
            [f"{p['flag']} serves {p['variants']}" for p in vm_b["prerequisites"]],
            kind="list",
        )
    )
    segments_a, segments_b = (
        rules_segment_keys(data_a["rules"]),
        rules_segment_keys(data_b["rules"]),
    )
    rows.append(
        _row(
            "segments",
            "Segments used",
            segments_a,
            segments_b,
            kind="list",
            differs=set(segments_a) != set(segments_b),
        )
    )
    uses_a, uses_b = variant_uses(data_a), variant_uses(data_b)
    for key, value in values.items():
        rows.append(
            _row(
                f"variant:{key}",
                f"Variant {key} = {value}",
                uses_a.get(key, []),
                uses_b.get(key, []),
                kind="uses",
            )
        )
    return rows


def _compare_context(request: HtmxHttpRequest, flag: Flag) -> dict[str, Any]:
    environments = list(Environment.objects.all())
    a, b = _default_pair(environments)
    a = _pick(environments, request.GET.get("a")) or a
    b = _pick(environments, request.GET.get("b")) or b
    configs = {c.environment_id: c for c in FlagConfig.objects.filter(flag=flag)}
    rows = compare_rows(flag, configs[a.id], configs[b.id])
    for r in rows:  # the template walks both sides with one cell markup
        r["sides"] = [("a", r["a"], a), ("b", r["b"], b)]
    access = access_for(request.user)
    return {
        "flag": flag,
        "tab": "compare",
        "environments": environments,
        "a": a,
        "b": b,
        "config_a": configs[a.id],
        "config_b": configs[b.id],
        "rows": rows,
        "difference_count": sum(1 for r in rows if r["differs"]),
        "operators": OPERATORS,
        "can_copy_to_b": a != b and access.can_change(b),
        "can_copy_to_a": a != b and access.can_change(a),
        "row": flag_row(flag, environments, request.user, timezone.now()),
    }


@login_required
def flag_compare(request: HtmxHttpRequest, key: str) -> HttpResponse:
    flag = get_flag(key)
    if Environment.objects.count() < 2:
        messages.info(request, "Comparing needs two environments.")
        return redirect("flag_detail", key=flag.key)
    context = _compare_context(request, flag)
    return page(request, "flags/compare.html", context, partial="flags/_compare.html")


def _version(raw: str) -> int | None:
    return int(raw) if raw.isdigit() else None


def _copy_context(flag: Flag, source: Environment, target: Environment) -> dict[str, Any]:
    plan = copy_plan(flag, source, target)
    return {
        "flag": flag,
        "plan": plan,
        "rows": diff_rows(plan.diff),
        "back": reverse("flag_compare", args=[flag.key]) + f"?a={source.key}&b={target.key}",
    }


@login_required
def flag_copy(request: HtmxHttpRequest, key: str) -> HttpResponse:
    """GET: what copying `from`'s targeting to `to` changes in `to`, against `to` now.
    POST: apply it, if neither environment changed since that preview (post/redirect/get)."""
    flag = get_flag(key)
    params = request.POST if request.method == "POST" else request.GET
    environments = list(Environment.objects.all())
    source = _pick(environments, params.get("from"))
    target = _pick(environments, params.get("to"))
    if source is None or target is None or source == target:
        messages.error(request, "Choose two different environments to copy between.")
        return _redirect(request, reverse("flag_compare", args=[flag.key]))
    require_environment(request.user, target)
    errors: list[tuple[str, str]] = []
    comment = ""
    if request.method == "POST":
        comment = comment_from(request)
        try:
            config = flag_config_copy(
                flag=flag,
                source=source,
                target=target,
                actor=actor(request),
                comment=comment,
                source_version=_version(params.get("source_version", "")),
                target_version=_version(params.get("target_version", "")),
            )
        except StaleCopy as exc:
            errors = [("stale", m) for _, m in exc.errors]
            errors.append(("stale", "Nothing was copied. Check the new preview below."))
        except ValidationError as exc:
            errors = change_errors(exc)
        else:
            messages.success(
                request,
                f"Copied {source.name}'s targeting to {target.name}"
                f" (now version {config.version}).",
            )
            back = reverse("flag_compare", args=[flag.key]) + f"?a={source.key}&b={target.key}"
            return _redirect(request, back)
    context = {
        **_copy_context(flag, source, target),
        "errors": errors,
        "comment": comment,
        "row": flag_row(flag, environments, request.user, timezone.now()),
        "environments": environments,
        "tab": "compare",
    }
    status = 400 if errors and not request.htmx else 200
    response = page(
        request, "flags/copy.html", context, partial="flags/_copy_preview.html", status=status
    )
    # Back to a preview asks the server again: a kept copy would offer an out-of-date form.
    response["Cache-Control"] = "no-store"
    return response


def _redirect(request: HtmxHttpRequest, url: str) -> HttpResponse:
    """A 302, or for htmx a 204 + HX-Redirect (a 302 would be followed inside the fetch and the
    page swapped into the panel): either way the browser ends on a GET, so a reload or the back
    button never applies the copy again."""
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)
