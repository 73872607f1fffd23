"""The size limits the validators enforce (docs/ruleset.md, "Limits").

They keep every evaluation and every save-time analysis small whatever an editor does: segment
nesting is what made evaluation exponential before segments were memoised, and the other sizes
bound the work of one evaluation and the memory of one compiled ruleset. The engine itself
evaluates anything it is given (limits are checked at save time, so a ruleset stored before a
limit existed keeps working); the compiler only refuses prerequisite chains deeper than
MAX_PREREQUISITE_DEPTH.
"""

from __future__ import annotations

# A segment that uses a segment that uses a segment ... at most this many segments in a chain.
MAX_SEGMENT_DEPTH = 10
# Segments in one installation (every ruleset carries all of them).
MAX_SEGMENTS = 1000
# Keys in a segment's `included` and `excluded` lists together.
MAX_SEGMENT_KEYS = 100_000
# Rules in one flag configuration.
MAX_RULES = 500
# Clauses in one rule or one segment.
MAX_CLAUSES = 50
# Values in one clause (`in` lists, segment references, patterns ...).
MAX_VALUES = 10_000
# Patterns in one `regex` clause (each is compiled to an automaton).
MAX_PATTERNS = 100
# Prerequisites of one flag, and the longest prerequisite chain.
MAX_PREREQUISITES = 32
MAX_PREREQUISITE_DEPTH = 32
# Nesting of JSON variant values (objects and lists inside each other).
MAX_JSON_DEPTH = 64
