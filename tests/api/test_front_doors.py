"""The same API handler behind either front door: a whole Lambda proxy event of the REST
API (Cognito authorizer) and of the HTTP API (JWT authorizer, payload format 1.0), as AWS
documents them, reach the same route with the same caller."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from chalice.local import LambdaContext

pytestmark = pytest.mark.api


def _claims(user_id: str) -> dict[str, str]:
    # As both authorizers pass them: every value a string, a list flattened to "[a b]".
    return {
        "sub": user_id,
        "cognito:username": user_id,
        "email": f"{user_id}@example.com",
        "cognito:groups": "[customers]",
        "token_use": "id",
        "exp": "4102444800",
    }


def _event(front_door: str, user_id: str) -> dict[str, Any]:
    headers = {"Authorization": "Bearer h.p.s", "Content-Type": "application/json"}
    context: dict[str, Any] = {
        "accountId": "123456789012",
        "apiId": "abcdef1234",
        "httpMethod": "GET",
        "path": "/api/me",
        "resourcePath": "/me",
        "requestId": str(uuid.uuid4()),
        "identity": {"sourceIp": "198.51.100.7", "userAgent": "test"},
    }
    event: dict[str, Any] = {
        "resource": "/me",
        "path": "/me",
        "httpMethod": "GET",
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "body": None,
        "isBase64Encoded": False,
    }
    if front_door == "rest":
        context |= {"stage": "api", "authorizer": {"claims": _claims(user_id)}}
    else:  # HTTP API, payload format 1.0
        event["version"] = "1.0"
        context |= {
            "stage": "$default",
            "authorizer": {"claims": _claims(user_id), "scopes": None},
        }
    event["requestContext"] = context
    return event


@pytest.mark.parametrize("front_door", ["rest", "http"])
def test_either_front_door_reaches_the_route_as_the_same_caller(client, front_door):
    from app import app

    user_id = str(uuid.uuid4())
    response = app(_event(front_door, user_id), LambdaContext("api_handler", 512))
    assert response["statusCode"] == 200, response
    assert json.loads(response["body"])["id"] == user_id


def test_an_http_api_event_without_claims_is_401(client):
    from app import app

    event = _event("http", "u1")
    event["requestContext"]["authorizer"] = {"claims": None, "scopes": None}
    response = app(event, LambdaContext("api_handler", 512))
    assert response["statusCode"] == 401
    assert response["headers"]["Content-Type"] == "application/problem+json"
