"""Overrides, for the application's tests: a flag served with one value to everyone, whatever
the ruleset says (docs/sdk.md). An override is a constant function in the client's function
table, so evaluating an overridden flag takes the same path as any other flag."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .engine import STATIC, Evaluation, Ruleset
from .engine.model import FlagFunction

OVERRIDE_RULE_ID = "override"


def _constant(result: Evaluation) -> FlagFunction:
    return lambda context, memo=None, /: result


class Overrides:
    """Mixed into Client, which provides these attributes (and swaps in a new ruleset with
    `_merged`, so overrides survive ruleset updates)."""

    _lock: threading.Lock
    _ruleset: Ruleset | None
    _functions: dict[str, FlagFunction]
    _overrides: dict[str, Evaluation]

    def _merged(self, ruleset: Ruleset | None) -> dict[str, FlagFunction]:  # with the lock held
        functions = dict(ruleset.functions) if ruleset is not None else {}
        for key, result in self._overrides.items():
            functions[key] = _constant(result)
        return functions

    def set_override(self, flag_key: str, value: Any) -> None:
        """Serve `value` for `flag_key` to everyone (reason STATIC, rule_id "override") until
        cleared, whatever the ruleset says. Overridden flags record no exposures."""
        with self._lock:
            self._overrides[flag_key] = Evaluation(value, None, STATIC, OVERRIDE_RULE_ID, None)
            self._functions = self._merged(self._ruleset)

    def clear_override(self, flag_key: str) -> None:
        with self._lock:
            self._overrides.pop(flag_key, None)
            self._functions = self._merged(self._ruleset)

    def clear_overrides(self) -> None:
        with self._lock:
            self._overrides.clear()
            self._functions = self._merged(self._ruleset)

    @contextmanager
    def override(self, flag_key: str, value: Any) -> Iterator[None]:
        """`with client.override("llm-model", "gpt-4-turbo"): ...` (nests; restores what was
        there before, another override included)."""
        with self._lock:
            previous = self._overrides.get(flag_key)
        self.set_override(flag_key, value)
        try:
            yield
        finally:
            if previous is None:
                self.clear_override(flag_key)
            else:
                with self._lock:
                    self._overrides[flag_key] = previous
                    self._functions = self._merged(self._ruleset)
