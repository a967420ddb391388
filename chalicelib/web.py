"""The HTTP edge every route reuses.

``@route(bp, "POST /requests", body=Model, ...)`` registers the view below it as a Chalice
route and, in one place: checks the body size (413), requires a verified principal (401)
within its per-user call limit (429, ``services/limits.py``) and role (403), parses the
JSON body and query string into pydantic models (400 naming the field), honours
``Idempotency-Key`` on creating POSTs (a retry answers the first response), maps domain
errors to status codes and one RFC 9457 problem-details body (a dependency still busy after
the SDK's retries: 503 with ``Retry-After``), and records the route for ``/openapi.json``. A
view takes one :class:`Call` and returns a model, a dict or a :class:`Reply`; its
docstring's first paragraph is the route's summary, and the model its return annotation
names (``Model``, ``Page[Model]``, ``Reply[Model]``) the documented response.
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar, get_args, get_origin, get_type_hints

from chalice.app import Blueprint, CognitoUserPoolAuthorizer, Response
from pydantic import BaseModel

from chalicelib import config, lazy
from chalicelib import errors as failures
from chalicelib.auth import Principal, claims_of, principal_from_claims
from chalicelib.errors import TITLES, DomainError, Forbidden, Invalid
from chalicelib.payloads import (
    PROBLEM_JSON,
    dump,
    json_body,
    parse_body,
    parse_model,
    problem,
)

if TYPE_CHECKING:
    from chalicelib.adapters import idempotency
    from chalicelib.services import accounts, limits
else:  # Powertools and boto3 load with the first Idempotency-Key (runtime.py: late imports)
    idempotency = lazy.module("chalicelib.adapters.idempotency")
    accounts = lazy.module("chalicelib.services.accounts")  # the store, with the first call
    limits = lazy.module("chalicelib.services.limits")

log = logging.getLogger("summon.web")

T = TypeVar("T")

authorizer = CognitoUserPoolAuthorizer(
    "cognito",
    provider_arns=[config.import_time(config.USER_POOL_ARN)],
    header="Authorization",
)
"""The one authorizer: API Gateway's Cognito authorizer in the cloud; devstack's verifying
gateway locally (same claims, same place in the event)."""


@dataclass(frozen=True)
class RouteSpec:
    """What ``/openapi.json`` says about one route."""

    path: str
    method: str
    summary: str
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    auth: bool
    roles: tuple[str, ...]
    idempotent: bool
    versioned: bool
    tag: str
    errors: tuple[int, ...]
    calls: int | None = None
    """Most DynamoDB calls of one invocation, its events' delivery included (tested)."""
    also: tuple[int, ...] = ()
    """Success statuses besides ``status`` (e.g. 200 for a retried create)."""
    deleting: bool = False  # the route deleting the account (it answers a deleted one)


ROUTES: list[RouteSpec] = []


@dataclass(frozen=True)
class Call:
    """Everything a view may read about the request, already validated."""

    principal: Principal
    params: Mapping[str, str]
    headers: Mapping[str, str]
    body: Any = None
    query: Any = None
    request_id: str = ""

    def user_id(self) -> str:
        return self.principal.user_id


@dataclass
class Reply(Generic[T]):
    """A view's answer with its own status or headers; ``Reply[Model]`` states the body's
    model (``/openapi.json``), ``Reply[None]`` no body."""

    status: int = 200
    body: T | None = None
    headers: dict[str, str] = field(default_factory=dict)


ANONYMOUS = Principal(user_id="", email="", groups=frozenset())


def _claims_principal(request: Any) -> Principal:
    return principal_from_claims(claims_of(request.context))


def route(
    bp: Blueprint,
    endpoint: str,
    *,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    status: int = 200,
    auth: bool = True,
    role: str = "",
    idempotent: bool = False,
    versioned: bool = False,
    tag: str = "",
    errors: Sequence[int] = (),
    calls: int | None = None,
    also: Sequence[int] = (),
    deleting: bool = False,
) -> Callable[[Callable[[Call], Any]], Callable[..., Response]]:
    """Register the decorated view on ``bp`` at ``endpoint`` (``"METHOD /path"``) with the
    edge behaviour described in the module doc. ``role``: the Cognito group the caller
    needs; ``errors``: statuses the view answers besides those ``/openapi.json`` lists for
    every route (400, 503; signed in: 401, 403, 404, 429; a body: 413, 415; idempotent: 409,
    422); ``also``: success statuses besides ``status`` (a :class:`Reply` chooses)."""
    method, _, path = endpoint.partition(" ")
    if method not in _METHODS or not path.startswith("/"):
        raise ValueError(f"route {endpoint!r}: expected 'METHOD /path', e.g. 'GET /me'.")

    def decorate(view: Callable[[Call], Any]) -> Callable[..., Response]:
        spec = RouteSpec(
            path=path,
            method=method,
            summary=_summary(view),
            body=body,
            query=query,
            response=_response(view),
            status=status,
            auth=auth,
            roles=(role,) if role else (),
            idempotent=idempotent,
            versioned=versioned,
            tag=tag or path.strip("/").split("/")[0] or "service",
            errors=tuple(errors),
            calls=calls,
            also=tuple(also),
            deleting=deleting,
        )
        ROUTES.append(spec)

        def handler(**params: str) -> Response:
            request = bp.current_request
            request_id = str((request.context or {}).get("requestId", ""))
            try:
                return _handle(spec, view, request, params, request_id, bp.lambda_context)
            except Exception as exc:
                error = exc if isinstance(exc, DomainError) else failures.busy(exc)
                if error is None:
                    raise  # a bug: Chalice logs it and answers 500 (error_middleware)
                return problem(
                    error.status,
                    error.title,
                    error.detail,
                    instance=request.path,
                    request_id=request_id,
                    errors=error.errors,
                    headers=error.headers(),
                )

        handler.__name__ = view.__name__
        handler.__doc__ = view.__doc__
        bp.route(
            path,
            methods=[spec.method],
            authorizer=authorizer if auth else None,
        )(handler)
        return handler

    return decorate


_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})


def _summary(view: Callable[..., Any]) -> str:
    """The first paragraph of the view's docstring, its whitespace collapsed and its full
    stop dropped (OpenAPI summaries are titles)."""
    doc = inspect.getdoc(view)
    if not doc:
        raise ValueError(f"route view {view.__qualname__}: its docstring is the summary.")
    return " ".join(doc.split("\n\n")[0].split()).removesuffix(".")


def _response(view: Callable[..., Any]) -> type[BaseModel] | None:
    """The model of the view's return annotation (``Model``, ``Reply[Model]``), if any."""
    returns = get_type_hints(view).get("return")
    if get_origin(returns) is Reply:
        returns = get_args(returns)[0]
    return returns if isinstance(returns, type) and issubclass(returns, BaseModel) else None


def _handle(
    spec: RouteSpec,
    view: Callable[[Call], Any],
    request: Any,
    params: dict[str, str],
    request_id: str,
    lambda_context: Any = None,
) -> Response:
    raw = request.raw_body if spec.method in ("POST", "PUT", "PATCH") else None
    payload = json_body(raw)
    principal = _claims_principal(request) if spec.auth else ANONYMOUS
    if spec.auth:
        limits.http_call(principal.user_id)  # over the limit: 429 before anything else
    if spec.roles and not principal.groups.intersection(spec.roles):
        raise Forbidden(f"This route is for {' or '.join(spec.roles)} only.")
    parsed_body = None
    if spec.body is None and payload is not None and payload != {}:
        raise Invalid(f"{spec.method} {spec.path} takes no body: send none (or {{}}).")
    if spec.query is None and request.query_params:
        names = ", ".join(sorted(request.query_params))
        raise Invalid(f"{spec.method} {spec.path} takes no query parameters (got {names}).")
    if spec.body is not None:
        optional = not any(f.is_required() for f in spec.body.model_fields.values())
        if payload is None and not optional:
            raise Invalid("A JSON body is required.")
        parsed_body = parse_body(spec.body, raw if payload is not None and raw else b"{}")
    parsed_query = None
    if spec.query is not None:
        parsed_query = parse_model(spec.query, dict(request.query_params or {}), where="query")
    if spec.auth:
        accounts.guard(principal, deleting=spec.deleting)  # suspended or deleted: 403
    headers = {k.lower(): v for k, v in (request.headers or {}).items()}
    call = Call(
        principal=principal,
        params=params,
        headers=headers,
        body=parsed_body,
        query=parsed_query,
        request_id=request_id,
    )

    def run() -> dict[str, Any]:
        result = view(call)
        reply = result if isinstance(result, Reply) else Reply(status=spec.status, body=result)
        return {"status": reply.status, "body": dump(reply.body), "headers": reply.headers}

    key = headers.get("idempotency-key", "")
    if spec.idempotent and key:
        if len(key) > 255:
            raise Invalid("Idempotency-Key: at most 255 characters.")
        scope = f"{principal.user_id}:{spec.method}:{request.path}:{key}"
        out = idempotency.run_once(scope, json.dumps(payload, sort_keys=True), run, lambda_context)
    else:
        out = run()
    body_out = out["body"]
    return Response(
        body=body_out if body_out is not None else "",
        status_code=out["status"],
        headers={"Content-Type": "application/json", **out["headers"]}
        if body_out is not None
        else dict(out["headers"]),
    )


def error_middleware(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """Chalice's own errors (405, 415, uncaught exceptions) in the same problem shape."""
    try:
        response: Response = get_response(event)
    except Exception:
        log.exception("unhandled error on %s %s", event.method, event.path)
        return problem(500, "Internal Server Error", "Something went wrong on our side.")
    if response.status_code < 400:
        return response
    headers = {k.lower(): str(v) for k, v in (response.headers or {}).items()}
    if headers.get("content-type", "").startswith(PROBLEM_JSON):
        return response
    if response.status_code >= 500:
        log.error("%s %s answered %s", event.method, event.path, response.status_code)
        return problem(response.status_code, "Internal Server Error", "Something went wrong.")
    detail = _chalice_message(response.body) or "The request was not accepted."
    status = response.status_code
    allow = {k: str(v) for k, v in (response.headers or {}).items() if k.lower() == "allow"}
    return problem(status, TITLES.get(status, "Error"), detail, instance=event.path, headers=allow)


def _chalice_message(body: Any) -> str:
    if isinstance(body, dict):
        return str(body.get("Message") or body.get("message") or "")
    if isinstance(body, str | bytes):
        try:
            data = json.loads(body)
        except ValueError:
            return ""
        if isinstance(data, dict):
            return str(data.get("Message") or data.get("message") or "")
    return ""
