"""Type checks for the typed getters: a value served for a flag must have the type the caller
expects, else the caller gets its default with error code TYPE_MISMATCH (docs/ruleset.md: type
checks belong to the SDK, not the engine)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

TYPE_MISMATCH = "TYPE_MISMATCH"
PROVIDER_NOT_READY = "PROVIDER_NOT_READY"

Check = Callable[[Any], bool]


def is_bool(value: Any) -> bool:
    return value.__class__ is bool


def is_string(value: Any) -> bool:
    return isinstance(value, str)


def is_number(value: Any) -> bool:
    """int or float; bool is not a number here (as in the ruleset's `number` kind)."""
    return isinstance(value, int | float) and value.__class__ is not bool


def is_integer(value: Any) -> bool:
    """An int, or a float with no fractional part (JSON does not tell 3 from 3.0)."""
    if value.__class__ is bool:
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def is_json(value: Any) -> bool:
    """A JSON object or array (OpenFeature's "object")."""
    return isinstance(value, dict | list)


def any_value(value: Any) -> bool:
    return True


_BY_CLASS: dict[type, Check] = {
    bool: is_bool,
    str: is_string,
    int: is_number,
    float: is_number,
    dict: is_json,
    list: is_json,
}


def check_for(default: Any) -> Check:
    """The check implied by a default value's type; anything goes for None or other types."""
    return _BY_CLASS.get(default.__class__, any_value)
