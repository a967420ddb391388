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

    def __init_subclass__(cls, status: int | None = None, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if status is not None:  # else the parent's
            cls.status = status
            cls.title = TITLES[status]

    def __init__(self, detail: str, *, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []


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
