"""Read-only, like flags/admin.py: every model here has its own write path (ingest for events,
the inbox's triage, the prices page) that validates and audits; the admin only shows."""

from django.contrib import admin

from flags.admin import ReadOnlyAdmin

from .models import Exposure, Feedback, ImplicitSignal, LlmCall, ModelPrice


@admin.register(ModelPrice)
class ModelPriceAdmin(ReadOnlyAdmin):
    list_display = ["model", "input_per_million", "output_per_million", "effective_from"]
    list_filter = ["model"]


@admin.register(Feedback)
class FeedbackAdmin(ReadOnlyAdmin):
    list_display = ["event_id", "environment", "type", "category", "triage_category", "timestamp"]
    list_filter = ["environment", "type", "category", "triage_category"]
    search_fields = ["event_id", "conversation_id", "request_id", "comment"]
    raw_id_fields = ["resolved_by"]


@admin.register(LlmCall)
class LlmCallAdmin(ReadOnlyAdmin):
    list_display = ["event_id", "environment", "model", "prompt_tokens", "cost_usd", "timestamp"]
    list_filter = ["environment", "model"]
    search_fields = ["event_id", "request_id", "conversation_id"]
    show_full_result_count = False


@admin.register(Exposure)
class ExposureAdmin(ReadOnlyAdmin):
    list_display = ["event_id", "environment", "flag_key", "variant_key", "user_key", "timestamp"]
    list_filter = ["environment", "flag_key"]
    show_full_result_count = False


@admin.register(ImplicitSignal)
class ImplicitSignalAdmin(ReadOnlyAdmin):
    list_display = ["event_id", "environment", "signal", "value", "conversation_id", "timestamp"]
    list_filter = ["environment", "signal"]
    show_full_result_count = False
