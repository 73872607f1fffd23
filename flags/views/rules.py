"""The rule editor: a flag's targeting in one environment (rules, default, off variant,
prerequisites), as a server-rendered form with htmx for add/remove/reorder, plus JSON mode."""

from __future__ import annotations

import copy
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from flags.changes import flag_config_update
from flags.forms import TryItForm, config_to_json, new_id, parse_config, parse_config_json
from flags.models import Environment, Flag, FlagConfig
from flags.policy import access_for, require_environment
from flags.snippets import snippets_context

from ._common import (
    HtmxHttpRequest,
    actor,
    change_errors,
    comment_from,
    get_environment,
    get_flag,
    page,
)
from .dashboard import flag_row
from .editor import config_editor

SAMPLE_CONTEXT = '{\n  "key": "user-123",\n  "email": "ana@example.com",\n  "tier": "paid"\n}'


def _blank_clause() -> dict[str, Any]:
    return {"attribute": "", "op": "in", "values": []}


def apply_op(config: dict[str, Any], op: str, variant_keys: list[str]) -> tuple[dict, str]:
    """Apply a structural edit to the draft. Returns the draft and the field to focus next."""
    config = copy.deepcopy(config)
    rules: list[dict[str, Any]] = config["rules"]
    name, _, args = op.partition(":")
    idx = [int(a) for a in args.split(":") if a.isdigit()]
    focus = ""
    if name == "add_rule":
        rules.append(
            {
                "id": new_id(),
                "name": "",
                "clauses": [_blank_clause()],
                "rollout": None,
                "serve": {"variant": variant_keys[0] if variant_keys else ""},
            }
        )
        focus = f"r{len(rules) - 1}-name"
    elif name == "remove_rule" and idx and idx[0] < len(rules):
        rules.pop(idx[0])
        focus = "add-rule"
    elif name in ("up", "down") and idx and idx[0] < len(rules):
        i = idx[0]
        j = i - 1 if name == "up" else i + 1
        if 0 <= j < len(rules):
            rules[i], rules[j] = rules[j], rules[i]
            focus = f"r{j}-{name}"
    elif name == "add_clause" and idx and idx[0] < len(rules):
        rules[idx[0]]["clauses"].append(_blank_clause())
        focus = f"r{idx[0]}-c{len(rules[idx[0]]['clauses']) - 1}-attribute"
    elif name == "remove_clause" and len(idx) == 2 and idx[0] < len(rules):
        clauses = rules[idx[0]]["clauses"]
        if idx[1] < len(clauses):
            clauses.pop(idx[1])
        focus = f"r{idx[0]}-add-clause"
    elif name == "add_prereq":
        config["prerequisites"].append({"flag": "", "variants": []})
        focus = f"p{len(config['prerequisites']) - 1}-flag"
    elif name == "remove_prereq" and idx and idx[0] < len(config["prerequisites"]):
        config["prerequisites"].pop(idx[0])
        focus = "add-prereq"
    return config, focus


def targeting_context(
    request: HttpRequest,
    flag: Flag,
    environment: Environment,
    *,
    draft: dict[str, Any] | None = None,
    errors: list[tuple[str, str]] | None = None,
    mode: str = "form",
    json_text: str | None = None,
    focus: str = "",
    comment: str = "",
) -> dict[str, Any]:
    config = FlagConfig.objects.get(flag=flag, environment=environment)
    data = draft if draft is not None else config.as_data()
    others = list(Flag.objects.exclude(pk=flag.pk).order_by("key"))
    return {
        "flag": flag,
        "environment": environment,
        "environments": list(Environment.objects.all()),
        "config": config,
        "editor": config_editor(flag, data, errors or [], other_flags=others),
        "errors": errors or [],
        "mode": mode,
        "json_text": json_text if json_text is not None else config_to_json(config.as_data()),
        "can_change": access_for(request.user).can_change(environment),
        "focus": focus,
        "comment": comment,
        "dirty": draft is not None,
        "tab": "targeting",
        "row": flag_row(flag, list(Environment.objects.all()), request.user, timezone.now()),
        "try_form": TryItForm(initial={"environment": environment.key, "context": SAMPLE_CONTEXT}),
        **snippets_context(request, flag, environment, config),
    }


@login_required
def targeting_editor(request: HtmxHttpRequest, key: str, env: str) -> HttpResponse:
    """GET: the editor for one environment (the form, or JSON mode with ?mode=json)."""
    flag, environment = get_flag(key), get_environment(env)
    mode = "json" if request.GET.get("mode") == "json" else "form"
    context = targeting_context(request, flag, environment, mode=mode)
    if request.htmx:
        response = page(request, "flags/_targeting.html", context)
        # The "How to use it" snippets follow the selected environment (out of band).
        snippets = render_to_string("flags/_snippets.html", {**context, "oob": True}, request)
        response.content += snippets.encode()
        return response
    return redirect(reverse("flag_detail", args=[key]) + f"?env={env}&mode={mode}")


@login_required
@require_POST
def targeting_save(request: HtmxHttpRequest, key: str, env: str) -> HttpResponse:
    flag, environment = get_flag(key), get_environment(env)
    require_environment(request.user, environment)
    current = FlagConfig.objects.get(flag=flag, environment=environment)
    op = request.POST.get("op", "save")
    comment = comment_from(request)
    mode, json_text = "form", None
    if op == "save_json":
        mode, json_text = "json", request.POST.get("config_json", "")
        draft, errors = parse_config_json(json_text)
        draft = {**current.as_data(), **draft}
    else:
        draft, errors = parse_config(request.POST, flag.variant_keys, current.rules)
    if op not in ("save", "save_json"):
        # A structural edit: apply it to the draft and show the form again, nothing saved.
        draft, focus = apply_op(draft, op, flag.variant_keys)
        context = targeting_context(
            request, flag, environment, draft=draft, focus=focus, comment=comment
        )
        return page(
            request, "flags/_targeting.html" if request.htmx else "flags/flag.html", context
        )
    if not errors:
        changes = {k: draft[k] for k in ("off_variant", "rules", "default", "prerequisites")}
        try:
            config = flag_config_update(
                flag=flag,
                environment=environment,
                actor=actor(request),
                comment=comment,
                **changes,
            )
        except ValidationError as exc:  # ConfigError, or a model field's own check
            errors = change_errors(exc)
        else:
            if config.version == current.version:
                messages.info(request, "Nothing changed.")
            else:
                messages.success(
                    request, f"Saved {flag.key} in {environment.name} as version {config.version}."
                )
            if request.htmx:
                context = targeting_context(request, flag, environment, mode=mode)
                return page(request, "flags/_targeting.html", context)
            return redirect(reverse("flag_detail", args=[key]) + f"?env={env}")
    context = targeting_context(
        request,
        flag,
        environment,
        draft=draft,
        errors=errors,
        mode=mode,
        json_text=json_text,
        comment=comment,
    )
    # htmx does not swap error responses, so it gets 200; a plain form post gets 400.
    template = "flags/_targeting.html" if request.htmx else "flags/flag.html"
    return page(request, template, context, status=200 if request.htmx else 400)
