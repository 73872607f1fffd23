"""An OpenFeature provider (https://openfeature.dev) backed by a flagsite `Client`: flags are
evaluated locally by the engine, and the engine's reasons and error codes map one to one onto
OpenFeature's.

    from openfeature import api
    from flagsite_sdk import Client
    from flagsite_sdk.provider import FlagsiteProvider

    api.set_provider(FlagsiteProvider(Client(url, server_key)))
    api.get_client().get_string_value("llm-model", "gpt-4", EvaluationContext("user-42"))

Needs `openfeature-sdk` (`pip install 'flagsite-sdk[openfeature]'`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from openfeature.evaluation_context import EvaluationContext
from openfeature.event import ProviderEventDetails
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import FlagResolutionDetails, Reason
from openfeature.provider import AbstractProvider, Metadata

from .checks import Check, is_bool, is_integer, is_json, is_number, is_string
from .client import Client
from .engine import Evaluation, Ruleset

REASONS: dict[str, Reason] = {
    "DISABLED": Reason.DISABLED,
    "TARGETING_MATCH": Reason.TARGETING_MATCH,
    "SPLIT": Reason.SPLIT,
    "STATIC": Reason.STATIC,
    "DEFAULT": Reason.DEFAULT,
    "ERROR": Reason.ERROR,
}
ERROR_CODES: dict[str, ErrorCode] = {
    "FLAG_NOT_FOUND": ErrorCode.FLAG_NOT_FOUND,
    "TYPE_MISMATCH": ErrorCode.TYPE_MISMATCH,
    "PROVIDER_NOT_READY": ErrorCode.PROVIDER_NOT_READY,
    "GENERAL": ErrorCode.GENERAL,
}
_MESSAGES = {
    "FLAG_NOT_FOUND": "flag {key!r} is not in the ruleset",
    "TYPE_MISMATCH": "flag {key!r} serves a value of another type",
    "PROVIDER_NOT_READY": "no ruleset loaded yet",
    "GENERAL": "flag {key!r} could not be evaluated",
}


def context_from(evaluation_context: EvaluationContext | None) -> dict[str, Any]:
    """OpenFeature's context as a flagsite context: the targeting key becomes `key`."""
    if evaluation_context is None:
        return {}
    context = dict(evaluation_context.attributes)
    if evaluation_context.targeting_key is not None:
        context["key"] = evaluation_context.targeting_key
    return context


def details_from(
    result: Evaluation, flag_key: str, convert: Callable[[Any], Any] | None = None
) -> FlagResolutionDetails[Any]:
    metadata = {"rule_id": result.rule_id} if result.rule_id is not None else {}
    error_code = result.error_code
    value = result.value
    if error_code is None and convert is not None:
        value = convert(value)
    return FlagResolutionDetails(
        value=value,
        reason=REASONS.get(result.reason, Reason.UNKNOWN),
        variant=result.variant,
        error_code=ERROR_CODES.get(error_code, ErrorCode.GENERAL) if error_code else None,
        error_message=_MESSAGES.get(error_code, "{key!r}: " + error_code).format(key=flag_key)
        if error_code
        else None,
        flag_metadata=metadata,
    )


class FlagsiteProvider(AbstractProvider):
    """`close_client=True` closes the client when OpenFeature shuts the provider down."""

    def __init__(self, client: Client, *, close_client: bool = False) -> None:
        super().__init__()
        self.client = client
        self._close_client = close_client
        client.on_change(self._changed)

    def get_metadata(self) -> Metadata:
        return Metadata(name="flagsite")

    def shutdown(self) -> None:
        if self._close_client:
            self.client.close()

    def _changed(self, ruleset: Ruleset) -> None:
        self.emit_provider_configuration_changed(
            ProviderEventDetails(flags_changed=list(ruleset), message="new flagsite ruleset")
        )

    def _resolve(
        self,
        flag_key: str,
        default_value: Any,
        evaluation_context: EvaluationContext | None,
        check: Check,
        convert: Callable[[Any], Any] | None = None,
    ) -> FlagResolutionDetails[Any]:
        result = self.client.evaluate(
            flag_key, context_from(evaluation_context), default_value, expected=check
        )
        return details_from(result, flag_key, convert)

    def resolve_boolean_details(
        self,
        flag_key: str,
        default_value: bool,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[bool]:
        return self._resolve(flag_key, default_value, evaluation_context, is_bool)

    def resolve_string_details(
        self,
        flag_key: str,
        default_value: str,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[str]:
        return self._resolve(flag_key, default_value, evaluation_context, is_string)

    def resolve_integer_details(
        self,
        flag_key: str,
        default_value: int,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[int]:
        return self._resolve(flag_key, default_value, evaluation_context, is_integer, int)

    def resolve_float_details(
        self,
        flag_key: str,
        default_value: float,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[float]:
        return self._resolve(flag_key, default_value, evaluation_context, is_number, float)

    def resolve_object_details(
        self,
        flag_key: str,
        default_value: Sequence[Any] | Mapping[str, Any],
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[Sequence[Any] | Mapping[str, Any]]:
        return self._resolve(flag_key, default_value, evaluation_context, is_json)
