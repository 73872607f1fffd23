from __future__ import annotations

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
