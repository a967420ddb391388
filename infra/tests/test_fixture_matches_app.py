"""The CDK tests package ``infra/tests/fixture_app`` (fast, independent of the app's state);
this proves it has the real ``app.py``'s shape: the same kinds of handlers, on the same
queue and topic names, with a Cognito-authorized REST route and the public health route.
``make check-templates`` synthesizes and checks the real app itself."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from infra.settings import REPO_ROOT
from infra.tests.conftest import FIXTURE_APP

pytestmark = pytest.mark.cdk


def _load(path: Path, name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app


def _shape(app: Any) -> dict[str, Any]:
    sources: dict[str, set[str]] = {}
    for source in app.event_sources:
        kind = type(source).__name__
        target = str(getattr(source, "queue", None) or getattr(source, "topic", None) or "")
        # summon-<stage>-media-events: the stage depends on the environment of the run.
        sources.setdefault(kind, set()).add(target.split("-", 2)[-1])
    authorized = {
        method
        for path, methods in app.routes.items()
        for method, entry in methods.items()
        if entry.authorizer is not None and getattr(entry.authorizer, "name", None)
    }
    return {
        "sources": sources,
        "websocket": set(app.websocket_handlers),
        "has_authorized_route": bool(authorized),
        "health": "/health" in app.routes,
    }


def test_the_fixture_app_has_the_real_apps_handler_kinds() -> None:
    # The real app as every other test imports it: executing app.py a second time would
    # replay its blueprints' registrations, which Chalice 1.34 cannot do twice.
    import app as real_app

    assert Path(real_app.__file__).resolve() == (REPO_ROOT / "app.py").resolve()
    real = _shape(real_app.app)
    fixture = _shape(_load(FIXTURE_APP / "app.py", "summon_fixture_app"))
    assert fixture["websocket"] == real["websocket"]
    assert set(fixture["sources"]) == set(real["sources"])
    for kind in ("SQSEventConfig", "SNSEventConfig"):
        assert fixture["sources"].get(kind) == real["sources"].get(kind), kind
    assert real["has_authorized_route"] and fixture["has_authorized_route"]
    assert real["health"] and fixture["health"]
