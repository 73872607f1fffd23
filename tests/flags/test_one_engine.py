"""The server and a plain Python process (no Django) evaluate the same ruleset identically."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from flags.models import Environment
from flags.publish import ruleset_current
from flags.ruleset import ruleset_build

ROOT = Path(__file__).resolve().parents[2]

PLAIN = r"""
import json, sys
from flagsite_sdk.engine import compile_ruleset, evaluate
payload = json.load(sys.stdin)
rules = compile_ruleset(payload["ruleset"])
flags = payload["flags"]
out = [[list(evaluate(rules, k, ctx))[:4] for k in flags] for ctx in payload["contexts"]]
assert "django" not in sys.modules, "the engine must not import Django"
json.dump(out, sys.stdout)
"""


def _contexts(n: int) -> list[dict[str, Any]]:
    rng = random.Random(7)
    out = []
    for i in range(n):
        ctx: dict[str, Any] = {"key": rng.choice(["alice", "bob", f"user-{i}"])}
        if rng.random() < 0.5:
            ctx["tier"] = rng.choice(["free", "paid", "enterprise"])
        if rng.random() < 0.3:
            ctx["email"] = f"u{i}@" + rng.choice(["flagsite.dev", "example.com"])
        out.append(ctx)
    return out


@pytest.mark.django_db
@pytest.mark.parametrize("env_key", ["development", "production"])
def test_server_and_plain_process_agree(demo: Any, env_key: str) -> None:
    from flagsite_sdk.engine import evaluate

    env = Environment.objects.get(key=env_key)
    published = ruleset_current(env.key, env.id)
    contexts = _contexts(500)
    flags = sorted(published.data["flags"])
    server = [[list(evaluate(published.compiled, k, c))[:4] for k in flags] for c in contexts]

    payload = {"ruleset": ruleset_build(env), "flags": flags, "contexts": contexts}
    proc = subprocess.run(
        [sys.executable, "-I", "-c", PLAIN],
        input=json.dumps(payload),
        cwd="/",
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(proc.stdout) == json.loads(json.dumps(server))
    # The comparison is not vacuous: several variants and reasons occur.
    reasons = {row[2] for rows in server for row in rows}
    assert {"TARGETING_MATCH"} <= reasons
    assert len({row[1] for rows in server for row in rows}) >= 4
