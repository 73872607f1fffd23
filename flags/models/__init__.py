from .access import Role, UserProfile, user_role
from .environment import Environment
from .flag import Flag, FlagConfig, FlagKind, Lifecycle
from .history import AuditEvent, Version
from .segment import Segment
from .tokens import PersonalToken

__all__ = [
    "AuditEvent",
    "Environment",
    "Flag",
    "FlagConfig",
    "FlagKind",
    "Lifecycle",
    "PersonalToken",
    "Role",
    "Segment",
    "UserProfile",
    "Version",
    "user_role",
]
