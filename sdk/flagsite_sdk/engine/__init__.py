"""flagsite's evaluation engine: pure Python, no Django, no I/O.

    ruleset = compile_ruleset(data)          # once per published ruleset (docs/ruleset.md)
    evaluate(ruleset, "llm-model", {"key": "user-123", "tier": "paid"})
    evaluate_all(ruleset, context)

    validate_flag(flag, segments=..., flags=...)   # at save time, in the server
    validate_segment(segment, segments=...)
    validate_ruleset(data)

See docs/engine.md.
"""

from .bucketing import bucket, murmur3_32, unleash_normalized
from .compiler import compile_ruleset
from .evaluate import evaluate, evaluate_all
from .model import (
    DEFAULT,
    DISABLED,
    ERROR,
    EXPERIMENT_RULE_PREFIX,
    FLAG_NOT_FOUND,
    GENERAL,
    SPLIT,
    STATIC,
    TARGETING_MATCH,
    Evaluation,
    Ruleset,
    RulesetError,
    ValidationError,
    experiment_of,
)
from .validate import validate_flag, validate_ruleset, validate_segment

__all__ = [
    "DEFAULT",
    "DISABLED",
    "ERROR",
    "EXPERIMENT_RULE_PREFIX",
    "FLAG_NOT_FOUND",
    "GENERAL",
    "SPLIT",
    "STATIC",
    "TARGETING_MATCH",
    "Evaluation",
    "Ruleset",
    "RulesetError",
    "ValidationError",
    "bucket",
    "compile_ruleset",
    "evaluate",
    "evaluate_all",
    "experiment_of",
    "murmur3_32",
    "unleash_normalized",
    "validate_flag",
    "validate_ruleset",
    "validate_segment",
]
