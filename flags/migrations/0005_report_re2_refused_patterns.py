"""Report stored `regex` patterns that RE2 refuses (issue 9: the regex dialect became RE2).

Python's `re` accepted back-references, look-arounds, `\\Z` and more that RE2 cannot compile.
Such a flag now evaluates to ERROR/GENERAL (and a segment using one breaks the flags that use
it) until someone edits the pattern. This migration changes nothing: it lists each refused
pattern (segment or flag and environment, the path of the clause, RE2's reason) on the
migrate output and in the `flags.migrations` log, so an operator can fix them.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Iterator
from typing import Any

from django.db import migrations
from flagsite_sdk.engine.regex import compile_search

log = logging.getLogger("flags.migrations")


def _refused(clauses: Any, path: str) -> Iterator[tuple[str, str, str]]:
    """(path, pattern, reason) for each regex pattern in `clauses` that RE2 refuses."""
    if not isinstance(clauses, list):
        return
    for i, clause in enumerate(clauses):
        if not isinstance(clause, dict) or clause.get("op") != "regex":
            continue
        values = clause.get("values")
        for j, pattern in enumerate(values if isinstance(values, list) else []):
            search = compile_search(pattern, clause.get("case_insensitive") is True, use_re2=True)
            if isinstance(search, str):
                yield f"{path}clauses[{i}].values[{j}]", str(pattern), search


def refused_patterns(segments: Iterable[Any], configs: Iterable[Any]) -> list[str]:
    """One line per refused pattern, for segments and flag configurations."""
    lines = []
    for segment in segments:
        for path, pattern, reason in _refused(segment.clauses, ""):
            lines.append(f"segment {segment.key!r} {path}: {pattern!r} {reason}")
    for config in configs:
        rules = config.rules if isinstance(config.rules, list) else []
        for r, rule in enumerate(rules):
            if not isinstance(rule, dict):
                continue
            for path, pattern, reason in _refused(rule.get("clauses"), f"rules[{r}]."):
                lines.append(
                    f"flag {config.flag.key!r} in {config.environment.key!r} {path}: "
                    f"{pattern!r} {reason}"
                )
    return lines


def report(apps: Any, schema_editor: Any) -> None:
    Segment = apps.get_model("flags", "Segment")
    FlagConfig = apps.get_model("flags", "FlagConfig")
    configs = FlagConfig.objects.select_related("flag", "environment").order_by("id")
    lines = refused_patterns(Segment.objects.order_by("key"), configs)
    if not lines:
        return
    header = (
        f"{len(lines)} stored regex pattern(s) do not compile with RE2 (the regex dialect "
        "since issue 9); their flags evaluate to ERROR until the patterns are edited:"
    )
    log.warning("%s\n  %s", header, "\n  ".join(lines))
    sys.stdout.write("\n" + header + "\n  " + "\n  ".join(lines) + "\n")


class Migration(migrations.Migration):
    dependencies = [
        ("flags", "0004_apikey_moved_to_delivery"),
    ]

    operations = [migrations.RunPython(report, migrations.RunPython.noop, elidable=True)]
