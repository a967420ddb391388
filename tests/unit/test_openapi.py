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


def test_a_route_is_documented_from_its_view():
    from chalicelib import openapi

    paths = openapi.document()["paths"]

    def model(op, status):
        return op["responses"][status]["content"]["application/json"]["schema"]["$ref"]

    settings = paths["/me/settings"]["get"]  # the view returns Reply[SettingsOut]
    assert settings["summary"] == "My settings (ETag = version)"
    assert model(settings, "200").endswith("/SettingsOut")
    device = paths["/devices"]["post"]  # Reply[DeviceOut], 201 or 200
    assert model(device, "201").endswith("/DeviceOut") and model(device, "200") == model(
        device, "201"
    )
    assert model(paths["/categories"]["get"], "200").endswith("/Page_Category_")
    unblock = paths["/me/blocks/{user_id}"]["delete"]  # Reply[None]
    assert "content" not in unblock["responses"]["204"]
    summaries = [op["summary"] for ops in paths.values() for op in ops.values()]
    assert all(s and "\n" not in s and not s.endswith(".") for s in summaries)


def test_a_route_declaration_that_does_not_say_its_facts_fails_at_import(monkeypatch):
    from chalice.app import Blueprint

    from chalicelib import web

    monkeypatch.setattr(web, "ROUTES", [])
    bp = Blueprint("test_routes")

    def view(call) -> None:
        """First paragraph,
        over two lines.

        The rest is not the summary."""

    web.route(bp, "GET /x", calls=0)(view)
    [spec] = web.ROUTES
    assert (spec.method, spec.path, spec.summary) == (
        "GET",
        "/x",
        "First paragraph, over two lines",
    )
    assert spec.response is None
    for endpoint in ("get /x", "GET x", "/x", "FETCH /x"):
        with pytest.raises(ValueError, match="METHOD /path"):
            web.route(bp, endpoint)

    def undocumented(call) -> None:
        pass

    with pytest.raises(ValueError, match="docstring"):
        web.route(bp, "GET /y")(undocumented)
