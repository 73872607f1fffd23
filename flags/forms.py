"""Parse the UI's forms into the data the change functions take, and back.

The rule, variant and segment editors are plain server-rendered forms whose fields are named
after their position (`r0-c1-op` is rule 0, clause 1, operator). Structural buttons (add a rule,
move it up, remove a clause) post the whole form with `op=<action>`; the view parses it, applies
the action to the draft and renders the form again, so nothing is saved until `op=save`.

Parse problems use the same paths as the engine's validator (`rules[0].serve.split`), so one
mapping puts every message on its field.
"""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.utils.functional import lazy

from flagsite.jsonbody import JsonInputError, json_parse

from .models import Environment, FlagKind, Role

Errors = list[tuple[str, str]]

OPERATORS: list[tuple[str, str]] = [
    ("in", "is one of"),
    ("not_in", "is not one of"),
    ("eq", "equals"),
    ("contains", "contains"),
    ("starts_with", "starts with"),
    ("ends_with", "ends with"),
    ("regex", "matches regex"),
    ("num_eq", "= (number)"),
    ("num_lt", "< (number)"),
    ("num_lte", "≤ (number)"),
    ("num_gt", "> (number)"),
    ("num_gte", "≥ (number)"),
    ("semver_eq", "= (semver)"),
    ("semver_lt", "< (semver)"),
    ("semver_lte", "≤ (semver)"),
    ("semver_gt", "> (semver)"),
    ("semver_gte", "≥ (semver)"),
    ("date_before", "before (date)"),
    ("date_after", "after (date)"),
    ("cidr", "in network (CIDR)"),
    ("exists", "exists"),
    ("segment", "is in segment"),
]
OPERATOR_KEYS = {key for key, _ in OPERATORS}
SINGLE_VALUE_OPS = {"eq", "date_before", "date_after"} | {
    f"{kind}_{cmp}" for kind in ("num", "semver") for cmp in ("eq", "lt", "lte", "gt", "gte")
}
CASE_OPS = {"in", "not_in", "eq", "contains", "starts_with", "ends_with", "regex"}
MAX_ITEMS = 200  # rules, clauses, variants or prerequisites in one form: refuse silly posts


# --- small parsers -------------------------------------------------------------------------


def split_list(text: str) -> list[str]:
    """Bulk paste: newline- or comma-separated, blanks dropped, order kept, duplicates removed."""
    seen: dict[str, None] = {}
    for part in re.split(r"[\n,]", text or ""):
        item = part.strip()
        if item:
            seen.setdefault(item, None)
    return list(seen)


def form_count(post: Any, name: str) -> int:
    try:
        return max(0, min(int(post.get(name, 0)), MAX_ITEMS))
    except (TypeError, ValueError):
        return 0


def _number(text: str) -> int | float | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    if value != value or value in (float("inf"), float("-inf")):
        return None
    return int(value) if value.is_integer() and "." not in text else value


def new_id(prefix: str = "rule") -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


# --- clauses -------------------------------------------------------------------------------


def clause_values_text(clause: dict[str, Any]) -> str:
    op = clause.get("op")
    values = clause.get("values") or []
    if op == "segment":
        return ""
    if op == "regex":
        return "\n".join(str(v) for v in values)
    return ", ".join(v if isinstance(v, str) else json.dumps(v) for v in values)


def parse_clause(post: Any, prefix: str, path: str, errors: Errors) -> dict[str, Any]:
    op = post.get(f"{prefix}-op", "in")
    if op not in OPERATOR_KEYS:
        errors.append((f"{path}.op", f"Unknown operator {op!r}."))
        op = "in"
    clause: dict[str, Any] = {"op": op}
    raw = post.get(f"{prefix}-values", "")
    if op == "segment":
        clause["values"] = [v for v in post.getlist(f"{prefix}-segments") if v]
        if not clause["values"]:
            errors.append((f"{path}.values", "Pick at least one segment."))
    else:
        clause["attribute"] = post.get(f"{prefix}-attribute", "").strip()
        if not clause["attribute"]:
            errors.append((f"{path}.attribute", "Name the context attribute to compare."))
        if op == "exists":
            clause["values"] = []
        elif op == "regex":
            clause["values"] = [v for v in (raw or "").splitlines() if v.strip()]
        elif op in SINGLE_VALUE_OPS:
            text = (raw or "").strip()
            value: Any = text
            if op.startswith("num_"):
                value = _number(text)
                if value is None:
                    errors.append((f"{path}.values", "Enter a number."))
                    value = text
            clause["values"] = [value] if text else []
        else:
            clause["values"] = split_list(raw)
        if op != "exists" and not clause["values"]:
            errors.append((f"{path}.values", "Enter at least one value."))
    if post.get(f"{prefix}-negate"):
        clause["negate"] = True
    if post.get(f"{prefix}-ci") and op in CASE_OPS:
        clause["case_insensitive"] = True
    return clause


def parse_clauses(post: Any, prefix: str, path: str, errors: Errors) -> list[dict[str, Any]]:
    return [
        parse_clause(post, f"{prefix}-c{j}", f"{path}[{j}]", errors)
        for j in range(form_count(post, f"{prefix}-clause_count"))
    ]


# --- serve (a fixed variant or a percentage split) ------------------------------------------


def parse_serve(
    post: Any, prefix: str, path: str, variant_keys: list[str], errors: Errors
) -> dict[str, Any]:
    mode = post.get(f"{prefix}-mode", "variant")
    if mode != "split":
        variant = post.get(f"{prefix}-variant", "")
        if variant not in variant_keys:
            errors.append((f"{path}.variant", "Choose one of the flag's variants."))
        return {"variant": variant}
    split: list[dict[str, Any]] = []
    for i, key in enumerate(variant_keys):
        text = post.get(f"{prefix}-w{i}", "").strip()
        if not text:
            continue
        weight = _number(text)
        if weight is None or weight < 0:
            errors.append((f"{path}.split", f"Weight for {key} must be a number from 0 to 100."))
            continue
        if weight:
            split.append({"variant": key, "weight": weight})
    total = sum(item["weight"] for item in split)
    if abs(total - 100) > 1e-9:
        errors.append((f"{path}.split", f"Weights add up to {total:g}%; they must total 100%."))
    bucket_by = post.get(f"{prefix}-bucket_by", "").strip() or "key"
    return {"split": split, "bucket_by": bucket_by}


# --- a flag configuration in one environment -----------------------------------------------


def parse_config(
    post: Any, variant_keys: list[str], current_rules: list[dict[str, Any]]
) -> tuple[dict[str, Any], Errors]:
    """The rule editor's form -> {off_variant, rules, default, prerequisites} and parse errors.

    Keys the form does not edit (an imported rule's Unleash `hash`, say) are kept from the rule
    with the same id in `current_rules`.
    """
    errors: Errors = []
    originals = {r.get("id"): r for r in current_rules if isinstance(r, dict)}
    rules: list[dict[str, Any]] = []
    for i in range(form_count(post, "rule_count")):
        prefix, path = f"r{i}", f"rules[{i}]"
        rule_id = post.get(f"{prefix}-id", "").strip() or new_id()
        original = originals.get(rule_id, {})
        rule: dict[str, Any] = {
            k: v for k, v in original.items() if k not in ("name", "clauses", "rollout", "serve")
        }
        rule["id"] = rule_id
        rule["name"] = post.get(f"{prefix}-name", "").strip()
        rule["clauses"] = parse_clauses(post, prefix, f"{path}.clauses", errors)
        rollout_text = post.get(f"{prefix}-rollout", "").strip()
        if rollout_text:
            pct = _number(rollout_text)
            if pct is None or not 0 <= pct <= 100:
                errors.append((f"{path}.rollout.percentage", "Enter a percentage from 0 to 100."))
                rule["rollout"] = None
            else:
                rollout = dict(original.get("rollout") or {})
                rollout.update({"percentage": pct})
                rollout.setdefault("bucket_by", post.get(f"{prefix}-bucket_by", "") or "key")
                rule["rollout"] = rollout
        else:
            rule["rollout"] = None
        rule["serve"] = parse_serve(post, prefix, f"{path}.serve", variant_keys, errors)
        old_serve = original.get("serve") or {}
        if "split" in rule["serve"] and "hash" in old_serve:
            rule["serve"]["hash"] = old_serve["hash"]
        rules.append(rule)
    prerequisites = []
    for k in range(form_count(post, "prereq_count")):
        flag_key = post.get(f"p{k}-flag", "").strip()
        variants = split_list(post.get(f"p{k}-variants", ""))
        if not flag_key:
            errors.append((f"prerequisites[{k}].flag", "Choose a flag."))
        if not variants:
            errors.append((f"prerequisites[{k}].variants", "Name at least one variant."))
        prerequisites.append({"flag": flag_key, "variants": variants})
    off_variant = post.get("off_variant", "")
    if off_variant not in variant_keys:
        errors.append(("off_variant", "Choose one of the flag's variants."))
    config = {
        "off_variant": off_variant,
        "rules": rules,
        "default": parse_serve(post, "default", "default", variant_keys, errors),
        "prerequisites": prerequisites,
    }
    return config, errors


CONFIG_JSON_FIELDS = ("off_variant", "rules", "default", "prerequisites")


def config_to_json(config: dict[str, Any]) -> str:
    return json.dumps({k: config.get(k) for k in CONFIG_JSON_FIELDS}, indent=2)


def parse_config_json(text: str) -> tuple[dict[str, Any], Errors]:
    try:
        data = json_parse(text)
    except JsonInputError as exc:
        return {}, [("json", exc.message)]
    if not isinstance(data, dict):
        return {}, [("json", "Expected a JSON object with rules, default, off_variant.")]
    unknown = sorted(set(data) - set(CONFIG_JSON_FIELDS))
    if unknown:
        return {}, [("json", f"Unknown keys: {', '.join(unknown)}.")]
    return data, []


# --- variants ------------------------------------------------------------------------------


def variant_value_text(kind: str, value: Any) -> str:
    if kind == FlagKind.STRING:
        return "" if value is None else str(value)
    if kind == FlagKind.BOOLEAN:
        return "true" if value is True else "false"
    if kind == FlagKind.JSON:
        return json.dumps(value, indent=2) if isinstance(value, dict | list) else json.dumps(value)
    return "" if value is None else json.dumps(value)


def parse_variant_value(kind: str, text: str, path: str, errors: Errors) -> Any:
    text = text if kind == FlagKind.STRING else (text or "").strip()
    if kind == FlagKind.STRING:
        return text
    if kind == FlagKind.BOOLEAN:
        if text not in ("true", "false"):
            errors.append((path, "Choose true or false."))
        return text == "true"
    if kind == FlagKind.NUMBER:
        value = _number(text)
        if value is None:
            errors.append((path, "Enter a number, like 0.7 or 1024."))
            return text
        return value
    try:
        return json_parse(text)
    except JsonInputError as exc:
        errors.append((path, exc.message))
        return text


def parse_variants(post: Any, kind: str) -> tuple[list[dict[str, Any]], Errors]:
    errors: Errors = []
    variants = []
    for i in range(form_count(post, "variant_count")):
        key = post.get(f"v{i}-key", "").strip()
        if not key:
            errors.append((f"variants[{i}].key", "Give the variant a key."))
        value = parse_variant_value(
            kind, post.get(f"v{i}-value", ""), f"variants[{i}].value", errors
        )
        variant: dict[str, Any] = {"key": key, "value": value}
        name = post.get(f"v{i}-name", "").strip()
        if name:
            variant["name"] = name
        variants.append(variant)
    keys = [v["key"] for v in variants]
    for i, key in enumerate(keys):
        if key and keys.index(key) != i:
            errors.append((f"variants[{i}].key", f"The key {key!r} is used twice."))
    if not variants:
        errors.append(("variants", "A flag needs at least one variant."))
    return variants, errors


def default_variants(kind: str) -> list[dict[str, Any]]:
    defaults: dict[str, list[dict[str, Any]]] = {
        FlagKind.BOOLEAN: [{"key": "on", "value": True}, {"key": "off", "value": False}],
        FlagKind.STRING: [{"key": "control", "value": ""}, {"key": "treatment", "value": ""}],
        FlagKind.NUMBER: [{"key": "low", "value": 0}, {"key": "high", "value": 1}],
        FlagKind.JSON: [{"key": "control", "value": {}}, {"key": "treatment", "value": {}}],
    }
    return defaults.get(kind, [])


# --- plain Django forms --------------------------------------------------------------------


class SearchForm(forms.Form):
    q = forms.CharField(required=False, label="Search")
    status = forms.ChoiceField(
        required=False,
        choices=[
            ("", "Any status"),
            ("on", "On somewhere"),
            ("off", "Off everywhere"),
            ("stale", "Stale"),
            ("archived", "Archived"),
        ],
    )
    tag = forms.CharField(required=False)


class TryItForm(forms.Form):
    environment = forms.ModelChoiceField(
        queryset=Environment.objects.all(), to_field_name="key", empty_label=None
    )
    context = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), label="Context (JSON)")

    def clean_context(self) -> dict[str, Any]:
        text = self.cleaned_data["context"]
        try:
            data = json_parse(text)
        except JsonInputError as exc:
            raise forms.ValidationError(exc.message) from None
        if not isinstance(data, dict):
            raise forms.ValidationError('Expected a JSON object, like {"key": "user-1"}.')
        return data


class EnvironmentForm(forms.Form):
    key = forms.CharField(max_length=64, help_text="Lowercase, used by SDKs and the API.")
    name = forms.CharField(max_length=100)
    is_production = forms.BooleanField(
        required=False, label="Production", help_text="Changes need an admin and a comment."
    )
    color = forms.CharField(
        max_length=16, initial="#64748b", widget=forms.TextInput(attrs={"type": "color"})
    )


class ApiKeyForm(forms.Form):
    environment = forms.ModelChoiceField(
        queryset=Environment.objects.all(), to_field_name="key", empty_label=None
    )
    kind = forms.ChoiceField(choices=[("server", "Server"), ("client", "Client")])
    name = forms.CharField(max_length=100, help_text="Where the key is used, e.g. 'chat backend'.")


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class UserCreateForm(forms.Form):
    username = forms.CharField(max_length=150)
    password = forms.CharField(
        widget=forms.PasswordInput,
        help_text=lazy(
            lambda: " ".join(password_validation.password_validators_help_texts()), str
        )(),
    )
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)

    def clean_username(self) -> str:
        username = self.cleaned_data["username"].strip()
        if get_user_model().objects.filter(username=username).exists():
            raise forms.ValidationError("That username is taken.")
        return username

    def clean(self) -> dict[str, Any]:
        """Django's password validators (AUTH_PASSWORD_VALIDATORS), as its own forms run them:
        each refusal shows on the password field."""
        data = super().clean() or {}
        password = data.get("password")
        if password:
            user = get_user_model()(username=data.get("username", ""))
            try:
                password_validation.validate_password(password, user)
            except forms.ValidationError as exc:
                self.add_error("password", exc)
        return data


class AuditFilterForm(forms.Form):
    who = forms.CharField(required=False, label="Who")
    what = forms.CharField(required=False, label="What", help_text="Action or object key")
    environment = forms.CharField(required=False)
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
