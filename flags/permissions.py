"""The old name of `flags.policy`, kept so existing imports (the feedback app's views) work.
Every rule lives in flags/policy.py; import from there."""

from .policy import Access, access_for, require_admin, require_write

__all__ = ["Access", "access_for", "require_admin", "require_write"]
