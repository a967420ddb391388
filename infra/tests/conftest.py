"""Fixtures of the CDK tests: each app is synthesized once per session and shared.

The stacks package ``infra/tests/fixture_app`` (a stand-in with every kind of handler the
real app has), so the tests are fast and do not depend on the app's state; the real app is
packaged by ``infra/scripts/synth.py`` and checked by ``infra/scripts/check.py``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk
from aws_cdk.assertions import Template

from infra.settings import Role
from infra.stacks.regional import RegionalStack

INFRA = Path(__file__).resolve().parent.parent
FIXTURE_APP = Path(__file__).resolve().parent / "fixture_app"
FIXTURE_WEB = Path(__file__).resolve().parent / "fixture_web"
"""A stand-in build of the web app (its three pages and an asset)."""


@dataclass
class Synth:
    stacks: dict[Role, RegionalStack]
    templates: dict[Role, Template]

    @property
    def primary(self) -> RegionalStack:
        return self.stacks[Role.PRIMARY]

    @property
    def standby(self) -> RegionalStack:
        return self.stacks[Role.STANDBY]

    @property
    def primary_t(self) -> Template:
        return self.templates[Role.PRIMARY]

    @property
    def standby_t(self) -> Template:
        return self.templates[Role.STANDBY]


def _context(example: bool, **extra: Any) -> dict[str, Any]:
    ctx: dict[str, Any] = json.loads((INFRA / "cdk.json").read_text())["context"]
    if example:
        ctx.update(json.loads((INFRA / "config" / "example.json").read_text())["context"])
    ctx["summon:chaliceSourceDir"] = str(FIXTURE_APP)
    ctx["summon:webDist"] = str(FIXTURE_WEB)
    ctx.update(extra)
    return ctx


def synth(tmp: Path, ctx: dict[str, Any]) -> Synth:
    from infra import app as infra_app

    app = cdk.App(
        outdir=str(tmp / "cdk.out"), context=ctx, builtin_cloud_formation_validation=False
    )
    stacks = infra_app.build(app, chalice_out_dir=tmp / "chalice.out")
    return Synth(stacks, {role: Template.from_stack(s) for role, s in stacks.items()})


@pytest.fixture(scope="session")
def full(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synth]:
    """Both regions with every optional feature on (``infra/config/example.json``)."""
    yield synth(tmp_path_factory.mktemp("full"), _context(example=True))


@pytest.fixture(scope="session")
def standby_in_failover(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synth]:
    """The standby alone, redeployed as active while the primary region is fenced
    (``summon:failover=true`` is the shorthand of those region states)."""
    ctx = _context(example=True, **{"summon:role": "standby", "summon:failover": "true"})
    yield synth(tmp_path_factory.mktemp("failover"), ctx)


@pytest.fixture(scope="session")
def minimal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synth]:
    """Only ``cdk.json``'s context: no domain, push, IdPs, signing key, QuickSight, ALB."""
    yield synth(tmp_path_factory.mktemp("minimal"), _context(example=False))


@pytest.fixture(scope="session")
def http_front_door(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synth]:
    """Both regions with every optional feature on and the HTTP API front door."""
    ctx = _context(example=True, **{"summon:apiType": "http"})
    yield synth(tmp_path_factory.mktemp("http"), ctx)
