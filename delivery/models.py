"""API keys: what SDKs and browsers authenticate with. One environment each; server keys fetch
the ruleset and send telemetry, client keys (public, shipped in web pages) evaluate and send
feedback."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models


class ApiKey(models.Model):
    class Kind(models.TextChoices):
        SERVER = "server", "Server (ruleset + telemetry)"
        CLIENT = "client", "Client (evaluate + feedback)"

    PREFIXES = {Kind.SERVER: "fs_srv_", Kind.CLIENT: "fs_cli_"}

    environment = models.ForeignKey(
        "flags.Environment", on_delete=models.CASCADE, related_name="api_keys"
    )
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
        # The table kept its name when the model moved from `flags` (migrations: flags 0004).
        db_table = "flags_apikey"
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


class EvaluationCount(models.Model):
    """How often server-side evaluation (evaluate, OFREP) served a variant, per hour.

    Written only by `delivery.exposures` (batched upserts that add to `count`), read by the flag
    page's usage view together with the exposure events SDKs send (feedback.Exposure)."""

    environment = models.ForeignKey("flags.Environment", on_delete=models.CASCADE, related_name="+")
    flag_key = models.CharField(max_length=128)
    variant_key = models.CharField(max_length=128)
    # The start of the hour (UTC) the evaluations fell in.
    hour = models.DateTimeField()
    count = models.BigIntegerField(default=0)
    # The latest evaluation counted in this row.
    last_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["environment", "flag_key", "variant_key", "hour"],
                name="evaluationcount_unique_bucket",
            )
        ]
        indexes = [models.Index(fields=["flag_key", "hour"], name="evaluationcount_flag_hour")]

    def __str__(self) -> str:
        return f"{self.flag_key}={self.variant_key} {self.hour:%Y-%m-%d %H}h: {self.count}"
