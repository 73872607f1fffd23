"""Every write to flags, configurations, segments and environments goes through here.

Each function validates, writes the new state, an immutable Version and an AuditEvent in one
transaction, bumps the affected environments' ruleset version and publishes the new ruleset
after commit. Nothing is updated in place without a version.
"""

from .base import (
    CONFIG_FIELDS,
    FLAG_FIELDS,
    SEGMENT_FIELDS,
    SYSTEM,
    Actor,
    audit_record,
    changes_batch,
)
from .copy import StaleCopy, flag_config_copy
from .environments import environment_create
from .flags import (
    flag_config_check,
    flag_config_update,
    flag_create,
    flag_toggle,
    flag_update,
    version_restore,
)
from .segments import segment_create, segment_update

__all__ = [
    "CONFIG_FIELDS",
    "FLAG_FIELDS",
    "SEGMENT_FIELDS",
    "SYSTEM",
    "Actor",
    "StaleCopy",
    "audit_record",
    "changes_batch",
    "environment_create",
    "flag_config_check",
    "flag_config_copy",
    "flag_config_update",
    "flag_create",
    "flag_toggle",
    "flag_update",
    "segment_create",
    "segment_update",
    "version_restore",
]
