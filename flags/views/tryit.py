"""Try it: evaluate the flag for a pasted context with the engine, against the current config."""

from __future__ import annotations

import json

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse

from flags.forms import TryItForm
from flags.models import FlagConfig
from flags.ruleset import ruleset_build

from ._common import HtmxHttpRequest, get_flag, page


@login_required
def try_it(request: HtmxHttpRequest, key: str) -> HttpResponse:
    """A GET (it changes nothing), so viewers can use it too."""
    from flagsite_sdk.engine import compile_ruleset, evaluate

    flag = get_flag(key)
    form = TryItForm(request.GET)
    context: dict[str, object] = {"flag": flag, "try_form": form}
    if form.is_valid():
        environment = form.cleaned_data["environment"]
        # Built from the database, not the published copy: what the config says right now.
        ruleset = compile_ruleset(ruleset_build(environment))
        result = evaluate(ruleset, flag.key, form.cleaned_data["context"])
        config = FlagConfig.objects.filter(flag=flag, environment=environment).first()
        rules = {r.get("id"): r for r in (config.rules if config else [])}
        rule = rules.get(result.rule_id) if result.rule_id else None
        context |= {
            "result": result,
            "value_json": json.dumps(result.value),
            "environment": environment,
            "rule_name": (rule or {}).get("name") or "",
            "rule_number": list(rules).index(result.rule_id) + 1 if rule else None,
        }
    status = 200 if form.is_valid() or request.htmx else 400
    return page(
        request, "flags/try_it.html", context, partial="flags/_try_result.html", status=status
    )
