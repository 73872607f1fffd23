"""Experiments bound to a flag's variants (statistics come in their own issue)."""
