"""A regex matcher that never backtracks: the SDK's fallback when google-re2 is missing.

It reads a subset of RE2's syntax and runs it as a Thompson NFA (every state advanced in
lock-step, one pass over the text), so a search costs at most len(text) x len(program) steps
whatever the pattern: `^(a+)+$` is as cheap as `^a+$`. Anything outside the subset is refused
with a reason (the flag then answers ERROR/GENERAL) rather than guessed at:

- literals, `\\` + any punctuation, `\\t \\n \\r \\f \\v`, `.` (any character but newline);
- classes `[abc]`, `[^a-z0-9_]`, with `\\d \\w \\s` (ASCII, as in RE2) inside or outside
  (`\\D \\W \\S` outside only);
- `^` and `\\A` (start of text), `$` and `\\z` (end of text; RE2 without multi-line mode);
- groups `(...)`, `(?:...)`, `(?P<name>...)`, alternation `|`;
- `* + ?` and `{n}`, `{n,}`, `{n,m}` (n, m <= 1000), greedy or lazy (the same for a yes/no
  search), nested or not; at most MAX_PROGRAM instructions after expansion.

Refused: back-references, look-arounds, `\\b`, inline flags (use the clause's
`case_insensitive`), POSIX and Unicode classes, `\\x`, `\\Q...\\E`. Case-insensitive matching
compares each character with its lower- and upper-case forms (RE2's simple case folding for
everything but a handful of special characters).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MAX_REPEAT = 1000
MAX_PROGRAM = 5000

_DIGITS = (("0", "9"),)
_WORD = (("0", "9"), ("A", "Z"), ("_", "_"), ("a", "z"))
_SPACE = (("\t", "\n"), ("\f", "\r"), (" ", " "))
_SHORTHANDS = {"d": _DIGITS, "w": _WORD, "s": _SPACE}
_CONTROL = {"t": "\t", "n": "\n", "r": "\r", "f": "\f", "v": "\v", "a": "\a"}
_META = set("\\.+*?()|[]{}^$")

# Instructions: (op, arg, next1, next2)
_CHAR, _SPLIT, _JMP, _BEGIN, _END, _MATCH = range(6)

CharTest = Callable[[str], bool]
Node = tuple[Any, ...]


class Unsupported(ValueError):
    """The pattern is outside the subset this matcher evaluates (or is not valid RE2)."""


@dataclass
class Program:
    """A compiled pattern: `search(text)` tells whether it matches anywhere in `text`."""

    ops: list[tuple[int, object, int, int]] = field(default_factory=list)
    start: int = 0
    # Steps taken by the last search (thread additions), for the linearity tests.
    steps: int = 0

    def search(self, text: str) -> bool:
        ops = self.ops
        steps = 0
        n = len(text)
        current: list[int] = []
        on: set[int] = set()

        def add(pc: int, pos: int, into: list[int], seen: set[int]) -> bool:
            """Adds pc's epsilon closure at pos; True when it reaches MATCH."""
            nonlocal steps
            stack = [pc]
            while stack:
                pc = stack.pop()
                if pc in seen:
                    continue
                seen.add(pc)
                steps += 1
                op, _arg, a, b = ops[pc]
                if op == _CHAR:
                    into.append(pc)
                elif op == _MATCH:
                    return True
                elif op == _JMP:
                    stack.append(a)
                elif op == _SPLIT:
                    stack.append(b)
                    stack.append(a)
                elif op == _BEGIN:
                    if pos == 0:
                        stack.append(a)
                elif op == _END and pos == n:
                    stack.append(a)
            return False

        try:
            for pos in range(n + 1):
                # Unanchored search: a new thread starts at every position.
                if add(self.start, pos, current, on):
                    return True
                if pos == n:
                    return False
                char = text[pos]
                following: list[int] = []
                seen: set[int] = set()
                for pc in current:
                    _, test, a, _unused = ops[pc]
                    if test(char) and add(a, pos + 1, following, seen):  # type: ignore[operator]
                        return True
                current, on = following, seen
            return False
        finally:
            self.steps = steps


# --- parsing: pattern text -> a small tree -------------------------------------------------
# Nodes: ("char", test) ("begin",) ("end",) ("cat", [nodes]) ("alt", [nodes])
#        ("repeat", node, min, max|None) ("empty",)


class _Parser:
    def __init__(self, pattern: str, case_insensitive: bool) -> None:
        self.p = pattern
        self.i = 0
        self.ci = case_insensitive

    def error(self, message: str) -> Unsupported:
        return Unsupported(f"{message} (at position {self.i})")

    def peek(self) -> str | None:
        return self.p[self.i] if self.i < len(self.p) else None

    def parse(self) -> Node:
        node = self.alternation()
        if self.i != len(self.p):
            raise self.error("unbalanced parenthesis")
        return node

    def alternation(self) -> Node:
        branches = [self.concatenation()]
        while self.peek() == "|":
            self.i += 1
            branches.append(self.concatenation())
        return branches[0] if len(branches) == 1 else ("alt", branches)

    def concatenation(self) -> Node:
        items: list[Node] = []
        while (c := self.peek()) is not None and c not in "|)":
            atom = self.atom()
            items.append(self.quantified(atom))
        if not items:
            return ("empty",)
        return items[0] if len(items) == 1 else ("cat", items)

    def quantified(self, atom: Node) -> Node:
        c = self.peek()
        bounds: tuple[int, int | None] | None = None
        if c == "*":
            bounds = (0, None)
            self.i += 1
        elif c == "+":
            bounds = (1, None)
            self.i += 1
        elif c == "?":
            bounds = (0, 1)
            self.i += 1
        elif c == "{":
            bounds = self.braces()
        if bounds is None:
            return atom
        if atom[0] in ("begin", "end"):
            raise self.error("a repeated anchor")
        if self.peek() == "?":  # lazy: the same answer for a yes/no search
            self.i += 1
        following = self.peek()
        if (following is not None and following in "*+?") or following == "{":
            raise self.error("bad repetition operator")
        return ("repeat", atom, *bounds)

    def braces(self) -> tuple[int, int | None] | None:
        end = self.p.find("}", self.i)
        body = self.p[self.i + 1 : end] if end > 0 else ""
        low, comma, high = body.partition(",")
        if end < 0 or not low.isdigit() or (high and not high.isdigit()) or not low.isascii():
            # RE2 reads a `{` that starts no valid repetition as a literal; so do we, but only
            # when it is plainly not one.
            if "," in body or body.isdigit():
                raise self.error("bad repetition")
            return None
        lo = int(low)
        hi: int | None = lo if not comma else (int(high) if high else None)
        if lo > MAX_REPEAT or (hi is not None and (hi > MAX_REPEAT or hi < lo)):
            raise self.error("bad repetition operator")
        self.i = end + 1
        return lo, hi

    def atom(self) -> Node:
        c = self.p[self.i]
        if c == "(":
            return self.group()
        if c == "[":
            return ("char", self.char_class())
        if c == "\\":
            return self.escape()
        self.i += 1
        if c == ".":
            return ("char", lambda x: x != "\n")
        if c == "^":
            return ("begin",)
        if c == "$":
            return ("end",)
        if c in "*+?":
            raise self.error("missing argument to repetition operator")
        if c == "{":
            self.i -= 1
            if self.braces() is not None:
                raise self.error("missing argument to repetition operator")
            self.i += 1
        return ("char", self.literal(c))

    def group(self) -> Node:
        self.i += 1
        if self.p.startswith("?:", self.i):
            self.i += 2
        elif self.p.startswith("?P<", self.i):
            close = self.p.find(">", self.i)
            name = self.p[self.i + 3 : close] if close > 0 else ""
            if not name or not all(ch.isalnum() or ch == "_" for ch in name) or not name.isascii():
                raise self.error("bad named capture group")
            self.i = close + 1
        elif self.peek() == "?":
            raise self.error("group flags, look-arounds and other (?...) forms are not supported")
        node = self.alternation()
        if self.peek() != ")":
            raise self.error("missing closing )")
        self.i += 1
        return node

    def escape(self) -> Node:
        if self.i + 1 >= len(self.p):
            raise self.error("trailing backslash")
        c = self.p[self.i + 1]
        self.i += 2
        if c in _SHORTHANDS:
            return ("char", self.ranges_test(_SHORTHANDS[c], negate=False))
        if c.lower() in _SHORTHANDS:
            return ("char", self.ranges_test(_SHORTHANDS[c.lower()], negate=True))
        if c == "A":
            return ("begin",)
        if c == "z":
            return ("end",)
        return ("char", self.literal(self.escaped_char(c)))

    def escaped_char(self, c: str) -> str:
        if c in _CONTROL:
            return _CONTROL[c]
        if c.isascii() and not c.isalnum() and c != "_":
            return c  # escaped punctuation is itself, as in RE2
        raise self.error(f"the escape \\{c} is not supported")

    def literal(self, c: str) -> CharTest:
        if not self.ci:
            return c.__eq__
        forms = _forms(c)
        return lambda x: not forms.isdisjoint(_forms(x))

    def char_class(self) -> CharTest:
        self.i += 1
        negate = self.peek() == "^"
        if negate:
            self.i += 1
        ranges: list[tuple[str, str]] = []
        first = True
        while True:
            c = self.peek()
            if c is None:
                raise self.error("missing closing ]")
            if c == "]" and not first:
                self.i += 1
                break
            first = False
            if c == "[" and self.p.startswith(("[:", "[=", "[."), self.i):
                raise self.error("POSIX classes are not supported")
            if c == "\\":
                if self.i + 1 >= len(self.p):
                    raise self.error("trailing backslash")
                e = self.p[self.i + 1]
                if e in _SHORTHANDS:
                    self.i += 2
                    ranges.extend(_SHORTHANDS[e])
                    continue
                self.i += 2
                low = self.escaped_char(e)
            else:
                self.i += 1
                low = c
            high = low
            if self.peek() == "-" and self.i + 1 < len(self.p) and self.p[self.i + 1] != "]":
                self.i += 1
                h = self.p[self.i]
                if h == "\\":
                    if self.i + 1 >= len(self.p):
                        raise self.error("trailing backslash")
                    self.i += 2
                    high = self.escaped_char(self.p[self.i - 1])
                else:
                    self.i += 1
                    high = h
                if high < low:
                    raise self.error("bad character class range")
            ranges.append((low, high))
        return self.ranges_test(tuple(ranges), negate)

    def ranges_test(self, ranges: tuple[tuple[str, str], ...], negate: bool) -> CharTest:
        ci = self.ci

        def test(x: str) -> bool:
            candidates = _forms(x) if ci else (x,)
            found = any(lo <= y <= hi for y in candidates for lo, hi in ranges)
            return found is not negate

        return test


def _forms(c: str) -> frozenset[str]:
    """A character with its single-character lower- and upper-case forms."""
    return frozenset(f for f in (c, c.lower(), c.upper()) if len(f) == 1)


# --- compiling: tree -> instructions -------------------------------------------------------


class _Emitter:
    def __init__(self) -> None:
        self.ops: list[list[object]] = []

    def new(self, op: int, arg: object = None) -> int:
        if len(self.ops) >= MAX_PROGRAM:
            raise Unsupported(f"the pattern needs more than {MAX_PROGRAM} NFA states")
        self.ops.append([op, arg, -1, -1])
        return len(self.ops) - 1

    def fragment(self, node: Node, follow: int) -> int:
        """Emits `node` so that it continues at `follow`; returns its entry."""
        kind = node[0]
        if kind == "char":
            pc = self.new(_CHAR, node[1])
            self.ops[pc][2] = follow
            return pc
        if kind in ("begin", "end"):
            pc = self.new(_BEGIN if kind == "begin" else _END)
            self.ops[pc][2] = follow
            return pc
        if kind == "empty":
            return follow
        if kind == "cat":
            for item in reversed(node[1]):
                follow = self.fragment(item, follow)
            return follow
        if kind == "alt":
            entries = [self.fragment(branch, follow) for branch in node[1]]
            entry = entries[-1]
            for other in reversed(entries[:-1]):
                pc = self.new(_SPLIT)
                self.ops[pc][2], self.ops[pc][3] = other, entry
                entry = pc
            return entry
        _, body, low, high = node
        # The optional tail first: x{n,m} = x^n (x?)^(m-n); x{n,} = x^n x*.
        if high is None:
            loop = self.new(_SPLIT)
            inner = self.fragment(body, loop)
            self.ops[loop][2], self.ops[loop][3] = inner, follow
            follow = loop
        else:
            for _ in range(high - low):
                pc = self.new(_SPLIT)
                inner = self.fragment(body, follow)
                self.ops[pc][2], self.ops[pc][3] = inner, follow
                follow = pc
        for _ in range(low):
            follow = self.fragment(body, follow)
        return follow


def compile_program(pattern: str, case_insensitive: bool) -> Program | str:
    """The pattern as a linear-time Program, or the reason it is outside the subset."""
    try:
        tree = _Parser(pattern, case_insensitive).parse()
        emitter = _Emitter()
        match = emitter.new(_MATCH)
        start = emitter.fragment(tree, match)
    except Unsupported as exc:
        return str(exc)
    except RecursionError:
        return "the pattern nests too deeply"
    ops = [(int(op), arg, int(a), int(b)) for op, arg, a, b in emitter.ops]  # type: ignore[call-overload]
    return Program(ops=ops, start=start)
