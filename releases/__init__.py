"""Progressive rollouts: plans, phases, health gates, automatic rollback (docs/rollouts.md)."""
