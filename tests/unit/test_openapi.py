"""``/openapi.json`` covers every route of the app and is a valid OpenAPI 3.1 document."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate

pytestmark = pytest.mark.unit


def test_every_route_is_documented():
    from app import app
    from chalicelib import openapi

    doc = openapi.document()
    served = {(path, method.lower()) for path, methods in app.routes.items() for method in methods}
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    assert served == documented


def test_the_document_is_valid_openapi_31():
    from chalicelib import openapi

    doc = openapi.document()
    assert doc["openapi"] == "3.1.0"
    validate(doc)


def test_request_models_are_the_validating_ones():
    from chalicelib import openapi

    doc = openapi.document()
    patch = doc["paths"]["/me"]["patch"]
    ref = patch["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = doc["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    assert schema["additionalProperties"] is False
    assert "phone" in schema["properties"]
    assert "401" in patch["responses"] and "400" in patch["responses"]
    assert doc["paths"]["/health"]["get"].get("security") is None
