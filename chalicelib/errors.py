"""Domain errors. Domain and service code raise these; the HTTP edge (``web.py``) maps each
class to one status code and one problem-details body; the WebSocket edge maps them to an
``error`` frame."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a user may see. ``detail`` is the human-readable reason."""

    status = 500
    title = "Internal Server Error"

    def __init__(self, detail: str, *, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []


class Invalid(DomainError):
    status = 400
    title = "Bad Request"


class Unauthenticated(DomainError):
    status = 401
    title = "Unauthorized"


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"


class NotFound(DomainError):
    status = 404
    title = "Not Found"


class Conflict(DomainError):
    status = 409
    title = "Conflict"


class PreconditionFailed(DomainError):
    status = 412
    title = "Precondition Failed"


class TooLarge(DomainError):
    status = 413
    title = "Content Too Large"


class Unprocessable(DomainError):
    status = 422
    title = "Unprocessable Content"


class PreconditionRequired(DomainError):
    status = 428
    title = "Precondition Required"


class Unavailable(DomainError):
    status = 503
    title = "Service Unavailable"
