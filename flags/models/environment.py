from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

# Flag and segment keys: what OpenFeature and Unleash allow (any case, dots, Unicode), minus
# whitespace and characters that break URLs. Environment keys stay lowercase slugs.
FLAG_KEY_VALIDATOR = RegexValidator(
    r"^[^\s/\\?#%]{1,128}$",
    "Use 1-128 characters without spaces or any of / \\ ? # %%.",
)
KEY_VALIDATOR = RegexValidator(
    r"^[a-z0-9][a-z0-9_.-]{0,63}$",
    "Use 1-64 lowercase letters, digits, '-', '_' or '.', starting with a letter or digit.",
)


class Environment(models.Model):
    key = models.CharField(max_length=64, unique=True, validators=[KEY_VALIDATOR])
    name = models.CharField(max_length=100)
    is_production = models.BooleanField(
        default=False, help_text="Changes need an admin and a comment."
    )
    color = models.CharField(max_length=16, default="#64748b")
    sort_order = models.IntegerField(default=0)
    # Bumped in the same transaction as every change that affects this environment's ruleset.
    ruleset_version = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["sort_order", "key"]

    def __str__(self) -> str:
        return self.key


class ApiKey(models.Model):
    class Kind(models.TextChoices):
        SERVER = "server", "Server (ruleset + telemetry)"
        CLIENT = "client", "Client (evaluate + feedback)"

    PREFIXES = {Kind.SERVER: "fs_srv_", Kind.CLIENT: "fs_cli_"}

    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="api_keys")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    name = models.CharField(max_length=100)
    # Only the hash is stored; `hint` is the first characters, shown to help people tell keys apart.
    key_hash = models.CharField(max_length=64, unique=True)
    hint = models.CharField(max_length=16)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind}, {self.hint}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @staticmethod
    def hash_key(raw: str) -> str:
        # Keys are 32+ random bytes, so a fast hash is enough (no password stretching needed).
        return hashlib.sha256(raw.encode()).hexdigest()

    @classmethod
    def generate(cls, kind: str) -> str:
        return cls.PREFIXES[cls.Kind(kind)] + secrets.token_urlsafe(32)
