"""Idempotency-Key replays through Powertools' idempotency utility, on the idempotency
table (``SUMMON_IDEMPOTENCY_TABLE``, :class:`chalicelib.store.models.IdempotencyItem`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)

from chalicelib import runtime
from chalicelib.errors import Conflict, Unprocessable

EXPIRES_AFTER_S = 24 * 3600


def _store() -> tuple[DynamoDBPersistenceLayer, IdempotencyConfig]:
    store = DynamoDBPersistenceLayer(table_name=runtime.settings().idempotency_table)
    cfg = IdempotencyConfig(
        event_key_jmespath="key",
        payload_validation_jmespath="fingerprint",
        expires_after_seconds=EXPIRES_AFTER_S,
    )
    return store, cfg


def run_once(
    key: str, fingerprint: str, thunk: Callable[[], dict[str, Any]], lambda_context: Any = None
) -> Any:
    """Run ``thunk`` once per ``key``; a retry gets the first result (24 h).

    Errors: :class:`Conflict` when the first run is still in progress,
    :class:`Unprocessable` when ``fingerprint`` (the body) differs from the first run's.
    Cost: on the idempotency table, a conditional PutItem before ``thunk`` and an
    UpdateItem after it."""
    store, cfg = runtime.get().memo("idempotency", _store)
    if lambda_context is not None:
        cfg.register_lambda_context(lambda_context)  # in-progress records expire with the call

    @idempotent_function(data_keyword_argument="request", persistence_store=store, config=cfg)
    def execute(request: dict[str, str]) -> dict[str, Any]:
        return thunk()

    try:
        return execute(request={"key": key, "fingerprint": fingerprint})
    except IdempotencyAlreadyInProgressError as exc:
        raise Conflict("A request with this Idempotency-Key is still in progress.") from exc
    except IdempotencyValidationError as exc:
        raise Unprocessable(
            "This Idempotency-Key was already used with a different request body."
        ) from exc
