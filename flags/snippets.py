"""Ready-to-paste usage snippets for a flag page ("How to use it"): the Python SDK, OpenFeature
(the SDK's provider) and curl against OFREP, for one environment, with the flag's kind and a real
default (the environment's off-variant value, what the flag serves when it is off).

Every value is escaped for the language it is pasted into: Python literals come from `repr()` of
the JSON value (so `true`/`null` become `True`/`None`), the curl command is quoted with
`shlex.quote`, and the request body is `json.dumps`. docs/ui.md "How to use it".
"""

from __future__ import annotations

import json
import shlex
from typing import Any
from urllib.parse import quote

from flags.models import Environment, Flag, FlagConfig

SERVER_KEY_PLACEHOLDER = "fs_srv_..."
CLIENT_KEY_PLACEHOLDER = "fs_cli_..."
SAMPLE_KEY = "user-123"

_SDK_METHOD = {
    "boolean": "bool_variation",
    "string": "string_variation",
    "number": "number_variation",
    "json": "json_variation",
}


def off_value(flag: Flag, config: FlagConfig) -> Any:
    """The value of the environment's off variant (the first variant if it is missing)."""
    by_key = {v["key"]: v.get("value") for v in flag.variants}
    if config.off_variant in by_key:
        return by_key[config.off_variant]
    return flag.variants[0].get("value") if flag.variants else None


def _openfeature_method(kind: str, default: Any) -> str:
    if kind == "boolean":
        return "get_boolean_value"
    if kind == "string":
        return "get_string_value"
    if kind == "number":
        return "get_float_value" if isinstance(default, float) else "get_integer_value"
    return "get_object_value"


def usage_snippets(
    flag: Flag, environment: Environment, config: FlagConfig, base_url: str
) -> dict[str, Any]:
    base = base_url.rstrip("/")
    default = off_value(flag, config)
    default_py = repr(default)
    key_py = repr(flag.key)
    python = (
        "from flagsite_sdk import Client\n\n"
        f"# One client per process; a server key of the {environment.key!r} environment.\n"
        f"flags = Client({base!r}, {SERVER_KEY_PLACEHOLDER!r})\n\n"
        f"value = flags.{_SDK_METHOD.get(flag.kind, 'variation')}("
        f"{key_py}, {{'key': user_id}}, {default_py})\n"
    )
    openfeature = (
        "from openfeature import api\n"
        "from openfeature.evaluation_context import EvaluationContext\n"
        "from flagsite_sdk import Client\n"
        "from flagsite_sdk.provider import FlagsiteProvider\n\n"
        f"api.set_provider(FlagsiteProvider(Client({base!r}, {SERVER_KEY_PLACEHOLDER!r}),"
        " close_client=True))\n"
        "of = api.get_client()\n"
        f"value = of.{_openfeature_method(flag.kind, default)}("
        f"{key_py}, {default_py}, EvaluationContext(user_id))\n"
    )
    path = f"/ofrep/v1/evaluate/flags/{quote(flag.key, safe='')}"
    body = json.dumps({"context": {"targetingKey": SAMPLE_KEY}})
    curl = " \\\n  ".join(
        [
            f"curl -X POST {shlex.quote(base + path)}",
            f"-H {shlex.quote('Authorization: Bearer ' + CLIENT_KEY_PLACEHOLDER)}",
            f"-H {shlex.quote('Content-Type: application/json')}",
            f"-d {shlex.quote(body)}",
        ]
    )
    return {
        "environment": environment,
        "kind": flag.kind,
        "default": default,
        "default_json": json.dumps(default),
        "off_variant": config.off_variant,
        "python": python,
        "openfeature": openfeature,
        "curl": curl,
    }


def snippets_context(
    request: Any, flag: Flag, environment: Environment, config: FlagConfig
) -> dict[str, Any]:
    """What templates/flags/_snippets.html needs."""
    snippets = usage_snippets(flag, environment, config, request.build_absolute_uri("/"))
    return {
        "snippets": snippets,
        "snippet_blocks": [
            ("Python SDK", "python", snippets["python"]),
            ("OpenFeature (Python)", "openfeature", snippets["openfeature"]),
            ("curl (OFREP)", "curl", snippets["curl"]),
        ],
    }
