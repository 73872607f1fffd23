"""The engine's public value types: results, reasons, the compiled ruleset, validation errors."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple, Protocol

# OpenFeature resolution reasons, as docs/ruleset.md ("Results and reasons") lists them.
DISABLED = "DISABLED"
TARGETING_MATCH = "TARGETING_MATCH"
SPLIT = "SPLIT"
STATIC = "STATIC"
DEFAULT = "DEFAULT"
ERROR = "ERROR"

# OpenFeature error codes the engine produces (TYPE_MISMATCH belongs to the typed getters).
FLAG_NOT_FOUND = "FLAG_NOT_FOUND"
GENERAL = "GENERAL"

DEFAULT_RULE_ID = "default"
# The rule an experiment adds to its flag is `experiment:<experiment key>` (docs/experiments.md):
# an evaluation it served is an exposure *in* that experiment.
EXPERIMENT_RULE_PREFIX = "experiment:"


def experiment_of(rule_id: str | None) -> str:
    """The experiment whose rule served an evaluation ('' when none did)."""
    if rule_id is not None and rule_id.startswith(EXPERIMENT_RULE_PREFIX):
        return rule_id[len(EXPERIMENT_RULE_PREFIX) :]
    return ""


class Evaluation(NamedTuple):
    """One flag's result for one context.

    Results are built once at compile time and shared between calls, so a `json` value is the
    same object every time: treat it as read-only.
    """

    value: Any
    variant: str | None
    reason: str
    rule_id: str | None
    error_code: str | None


NOT_FOUND_RESULT = Evaluation(None, None, ERROR, None, FLAG_NOT_FOUND)
GENERAL_ERROR_RESULT = Evaluation(None, None, ERROR, None, GENERAL)

Context = Mapping[str, Any]


class FlagFunction(Protocol):
    """A compiled flag: `function(context)`, or `function(context, memo)` to share one
    evaluation's memo (segments.py) with other flags, as prerequisites and evaluate_all do."""

    def __call__(self, ctx: Context, memo: dict[str, Any] | None = None, /) -> Evaluation: ...


class Ruleset:
    """A compiled ruleset: one specialised function per flag, nothing parsed per call.

    `errors` maps the key of every flag that could not be compiled to the reason; such a flag
    evaluates to ERROR/GENERAL while all the others keep working.
    """

    __slots__ = (
        "_compiled_segments",
        "_flags",
        "_segments",
        "environment",
        "errors",
        "functions",
        "version",
    )

    def __init__(
        self,
        *,
        environment: str | None,
        version: Any,
        functions: dict[str, FlagFunction],
        errors: dict[str, str],
    ) -> None:
        self.environment = environment
        self.version = version
        self.functions = functions
        self.errors = errors
        # The source and compiled segments, for compile_ruleset(..., previous=this).
        self._flags: Mapping[str, Any] | None = None
        self._segments: Mapping[str, Any] | None = None
        self._compiled_segments: Mapping[str, Any] | None = None

    def __contains__(self, flag_key: object) -> bool:
        return flag_key in self.functions

    def __iter__(self) -> Iterator[str]:
        return iter(self.functions)

    def __len__(self) -> int:
        return len(self.functions)

    def __repr__(self) -> str:
        return (
            f"<Ruleset environment={self.environment!r} version={self.version!r} "
            f"flags={len(self.functions)} broken={len(self.errors)}>"
        )


class ValidationError(NamedTuple):
    """A problem in a flag or segment definition.

    `path` points into the definition (`rules[2].serve.split`, `rules[0].clauses[1].values[0]`);
    `message` is a sentence for a person, naming the rule and field.
    """

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class RulesetError(ValueError):
    """The ruleset as a whole is unusable (not an object, unknown schema, `flags` not an object).

    Problems inside one flag never raise: that flag evaluates to ERROR instead.
    """
