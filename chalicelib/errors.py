"""Domain errors. Domain and service code raise these; the HTTP edge (``web.py``) answers
each with its status code and one problem-details body titled :data:`TITLES`; the WebSocket
edge answers an ``error`` frame with the same status, title and detail."""

from __future__ import annotations

TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    412: "Precondition Failed",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    428: "Precondition Required",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
"""The title of each status the API answers (RFC 9110's reason phrases)."""


class DomainError(Exception):
    """Base of every error a user may see: ``detail`` is the human-readable reason,
    ``errors`` the bad fields (``{"field", "message"}``) when there are any. A subclass
    names its status (``class NotFound(DomainError, status=404)``); the title follows."""

    status = 500
    title = TITLES[500]
    retry_after: int | None = None
    """Whole seconds before the same call may succeed (429, 503): HTTP ``Retry-After`` and
    the ``error`` frame's ``retry_after``."""

    def __init_subclass__(cls, status: int | None = None, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if status is not None:  # else the parent's
            cls.status = status
            cls.title = TITLES[status]

    def __init__(self, detail: str, *, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)} if self.retry_after is not None else {}


class Invalid(DomainError, status=400):
    """The input is malformed or breaks a rule (the detail names the field)."""


class Unauthenticated(DomainError, status=401):
    """No valid token."""


class Forbidden(DomainError, status=403):
    """Signed in, but not allowed (wrong role)."""


class NotFound(DomainError, status=404):
    """Absent, or not the caller's to see."""


class Conflict(DomainError, status=409):
    """The current state does not allow it (someone got there first, a wrong step)."""


class PreconditionFailed(DomainError, status=412):
    """The If-Match version is stale."""


class TooLarge(DomainError, status=413):
    """The body is over the limit."""


class Unprocessable(DomainError, status=422):
    """An Idempotency-Key reused with another body."""


class PreconditionRequired(DomainError, status=428):
    """A versioned write without If-Match."""


class TooFrequent(DomainError, status=429):
    """Faster than the rate it is allowed at; ``retry_after``: whole seconds to wait before
    the same call can succeed (HTTP ``Retry-After``, the ``error`` frame's ``retry_after``)."""

    def __init__(self, detail: str, *, retry_after: int = 1) -> None:
        super().__init__(detail)
        self.retry_after = max(1, retry_after)


class Unavailable(DomainError, status=503):
    """A dependency (push, storage) is not available."""


TRANSIENT_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "Throttling",
        "Throttled",
        "RequestLimitExceeded",
        "TransactionConflictException",
        "InternalServerError",
        "InternalError",
        "InternalFailure",
        "ServiceUnavailable",
        "InternalServerErrorException",
    }
)
"""AWS error codes that mean "not now": the call did not happen and may be retried."""

TRANSIENT_TYPES = frozenset(
    {"EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError", "ConnectionClosedError"}
)
"""botocore's exceptions for a dependency that did not answer."""

RETRY_AFTER_S = 1
"""What a 503 for a transient dependency failure asks the client to wait."""

BUSY = (
    "A service we depend on is busy: retry in a moment (a creating call with the same "
    "Idempotency-Key, a chat message with the same client_msg_id)."
)
"""The detail of that 503 (HTTP) or ``error`` frame (WebSocket)."""


def transient(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it: ``__cause__``, ``__context__``, PynamoDB's
    ``cause``) is an AWS dependency failing for now (throttled, 5xx, unreachable) after the
    SDK's own retries: the client may retry the same call. Reads the botocore shape
    (``response["Error"]["Code"]``) without importing botocore."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if type(current).__name__ in TRANSIENT_TYPES:
            return True
        response = getattr(current, "response", None)
        if isinstance(response, dict):
            code = str((response.get("Error") or {}).get("Code", ""))
            status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode", 0)
            if code in TRANSIENT_CODES or (isinstance(status, int) and status >= 500):
                return True
        cause = getattr(current, "cause", None)
        todo += [current.__cause__, current.__context__]
        if isinstance(cause, BaseException):
            todo.append(cause)
    return False


class Busy(Unavailable):
    """A dependency still throttled or failing after the SDK's retries (:func:`transient`):
    answered 503 with ``Retry-After`` (HTTP) or a 503 ``error`` frame; the client retries."""

    retry_after = RETRY_AFTER_S


def busy(exc: BaseException) -> Busy | None:
    """``exc`` as the :class:`Busy` the client sees, when it is :func:`transient`."""
    return Busy(BUSY) if transient(exc) else None
