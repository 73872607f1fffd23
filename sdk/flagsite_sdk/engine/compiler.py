"""compile_ruleset(): the ruleset JSON (docs/ruleset.md) -> a Ruleset of flag functions.

One broken flag never takes the others down: whatever makes it impossible to evaluate (an
unknown variant, a bad literal, a prerequisite cycle) is recorded in `Ruleset.errors` and the
flag evaluates to ERROR/GENERAL.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .codegen import FlagWriter
from .graph import cyclic_components, longest_chains
from .incremental import NOTHING, Reuse, reusable
from .limits import MAX_PREREQUISITE_DEPTH
from .model import (
    DISABLED,
    GENERAL_ERROR_RESULT,
    NOT_FOUND_RESULT,
    Context,
    Evaluation,
    FlagFunction,
    Ruleset,
    RulesetError,
)
from .operators import CompileError
from .segments import SegmentCompiler

SCHEMA = 1


def _constant(result: Evaluation) -> FlagFunction:
    def constant(ctx: Context, memo: dict[str, Any] | None = None, /) -> Evaluation:
        return result

    return constant


_broken = _constant(GENERAL_ERROR_RESULT)
_not_found = _constant(NOT_FOUND_RESULT)


def compile_ruleset(data: Mapping[str, Any], previous: Ruleset | None = None) -> Ruleset:
    """Compile a ruleset once; evaluate it any number of times with `evaluate()`.

    With `previous` (an earlier result of this function), the functions of flags whose JSON,
    segments and prerequisites did not change are reused instead of compiled again.

    Raises RulesetError only when the document as a whole is unusable (not an object, a schema
    other than 1, `flags` or `segments` not objects).
    """
    if not isinstance(data, Mapping):
        raise RulesetError("a ruleset must be a JSON object")
    schema = data.get("schema", SCHEMA)
    if schema != SCHEMA:
        raise RulesetError(f"unsupported ruleset schema {schema!r} (this engine reads {SCHEMA})")
    flags = data.get("flags")
    segments = data.get("segments")
    flags = {} if flags is None else flags
    segments = {} if segments is None else segments
    if not isinstance(flags, Mapping) or not isinstance(segments, Mapping):
        raise RulesetError("flags and segments must be JSON objects")
    reuse = NOTHING if previous is None else reusable(previous, flags, segments)
    segment_compiler = SegmentCompiler(segments, compiled=reuse.segments)
    compiler = _Compiler(flags, segment_compiler, reuse)
    for key in flags:
        compiler.function(key)
    ruleset = Ruleset(
        environment=data.get("environment"),
        version=data.get("version"),
        functions={k: compiler.done[k] for k in flags},
        errors=compiler.errors,
    )
    # What the next compile_ruleset(..., previous=ruleset) compares against and reuses.
    ruleset._flags = flags
    ruleset._segments = segments
    ruleset._compiled_segments = segment_compiler.compiled
    return ruleset


def _prerequisite_keys(flag: Any) -> list[str]:
    prerequisites = flag.get("prerequisites") if isinstance(flag, Mapping) else None
    if not isinstance(prerequisites, list):
        return []
    return [p["flag"] for p in prerequisites if isinstance(p, Mapping) and "flag" in p]


class _Compiler:
    def __init__(
        self, flags: Mapping[str, Any], segments: SegmentCompiler, reuse: Reuse = NOTHING
    ) -> None:
        self.flags = flags
        self.segments = segments
        self.done: dict[str, FlagFunction] = {}
        self.errors: dict[str, str] = {}
        edges = {k: _prerequisite_keys(f) for k, f in flags.items()}
        for component in cyclic_components(edges):
            for key in component:
                self._break(key, "prerequisite cycle: " + " -> ".join(component))
        # Deeper prerequisite chains are refused: nobody means them, and each level is a call.
        cut = set(self.done)
        uncut = {k: [t for t in v if t not in cut] for k, v in edges.items() if k not in cut}
        for key, (depth, _next) in longest_chains(uncut).items():
            if depth > MAX_PREREQUISITE_DEPTH:
                self._break(key, f"prerequisites nested deeper than {MAX_PREREQUISITE_DEPTH}")
        for key, function in reuse.functions.items():
            if key not in self.done:
                self.done[key] = function
                if key in reuse.errors:
                    self.errors[key] = reuse.errors[key]

    def _break(self, key: str, message: str) -> None:
        self.errors[key] = message
        self.done[key] = _broken

    def function(self, key: str) -> FlagFunction:
        """The flag's function, compiling it (and first its prerequisites) on first use."""
        done = self.done.get(key)
        if done is not None:
            return done
        if key not in self.flags:
            return _not_found
        try:
            function = self._compile(self.flags[key])
        except CompileError as exc:
            self.errors[key] = str(exc)
            function = _broken
        except Exception as exc:  # anything unforeseen in the data: this flag only
            self.errors[key] = f"{type(exc).__name__}: {exc}"
            function = _broken
        self.done[key] = function
        return function

    def _compile(self, flag: Any) -> FlagFunction:
        if not isinstance(flag, Mapping):
            raise CompileError("a flag must be an object")
        enabled = flag.get("enabled")
        if not isinstance(enabled, bool):
            raise CompileError("enabled must be true or false")
        # A prerequisite that is itself broken evaluates to ERROR, which is not one of the
        # wanted variants: this flag then serves its off variant, as for a missing flag.
        writer = FlagWriter(flag, self.segments, self.function)
        if not enabled:
            off = flag.get("off_variant")
            if not isinstance(off, str) or off not in writer.values:
                raise CompileError(f"unknown off_variant {off!r}")
            return _constant(Evaluation(writer.values[off], off, DISABLED, None, None))
        return writer.write(flag)
