"""Importers from other feature-flag systems into the ruleset format (pure, no I/O)."""
