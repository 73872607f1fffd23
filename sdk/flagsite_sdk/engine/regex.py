"""The `regex` operator's dialect: RE2, on the server and in every SDK.

RE2 (the `google-re2` package) matches in time linear in the text, whatever the pattern, so no
pattern an editor saves can stall a process (`^(a+)+$` against 30 `a`s and a `!` took Python's
backtracking `re` minutes). It also refuses what only a backtracking engine can do
(back-references, look-arounds), which is what Unleash's RE2-based core and the other SDKs accept.

Where `google-re2` cannot be installed the SDK falls back to `linear_regex.py`: a small
Thompson-NFA matcher (no backtracking, linear by construction) for a documented subset of RE2's
syntax. A pattern outside that subset cannot be evaluated there: its flag answers ERROR/GENERAL
(docs/engine.md, "Regular expressions").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import linear_regex
from .bucketing import utf8_safe

try:
    import re2 as _re2  # type: ignore[import-untyped]
except ImportError:  # pragma: no cover - exercised by forcing the fallback in the tests
    _re2 = None

# The longest pattern the validator accepts (docs/ruleset.md, "Limits").
MAX_PATTERN_LENGTH = 1000
# RE2's default program memory is 8 MB; a pattern needing more (`(a{999}){999}`) is refused.
RE2_MAX_MEM = 8 << 20

Search = Callable[[str], bool]
USING_RE2 = _re2 is not None


def _encode(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: matched as U+FFFD, as it is hashed
        return utf8_safe(text).encode("utf-8")


def _re2_search(pattern: str, case_insensitive: bool) -> Search | str:
    assert _re2 is not None
    options = _re2.Options()
    options.log_errors = False  # RE2 would print every refused pattern to stderr
    options.never_capture = True  # a clause only asks "is there a match"
    options.case_sensitive = not case_insensitive
    options.max_mem = RE2_MAX_MEM
    try:
        compiled = _re2.compile(pattern, options)
    except _re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        return f"does not compile (RE2: {reason})"
    regexp = getattr(compiled, "_regexp", None)
    anchor = getattr(getattr(_re2, "_Anchor", None), "UNANCHORED", None)
    if regexp is None or anchor is None:  # pragma: no cover - another google-re2 layout
        return lambda text: compiled.search(text) is not None
    match = regexp.Match

    # google-re2's public search() builds a Match object and a generator (about 9 µs); the
    # underlying RE2::Match answers the same question in under 1 µs.
    def search(text: str) -> bool:
        data = _encode(text)
        return bool(match(anchor, data, 0, len(data))[0][0] >= 0)

    return search


def compile_search(
    pattern: Any, case_insensitive: bool, *, use_re2: bool | None = None
) -> Search | str:
    """A function telling whether the pattern finds a match in a string (RE2 semantics,
    unanchored search), or a sentence saying why the pattern cannot be used.

    `use_re2=False` forces the fallback (the tests, and SDKs without google-re2)."""
    if pattern.__class__ is not str:
        return "a regular expression must be a string"
    if len(pattern) > MAX_PATTERN_LENGTH:
        return f"the regular expression is longer than {MAX_PATTERN_LENGTH} characters"
    try:
        pattern.encode("utf-8")
    except UnicodeEncodeError:
        return "the regular expression holds a lone surrogate (not valid UTF-8)"
    if (USING_RE2 if use_re2 is None else use_re2) and _re2 is not None:
        return _re2_search(pattern, case_insensitive)
    program = linear_regex.compile_program(pattern, case_insensitive)
    if isinstance(program, str):
        return f"without RE2 (google-re2 is not installed) only a linear subset can run: {program}"
    return program.search
