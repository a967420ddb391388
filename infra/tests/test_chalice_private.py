"""The private ``chalice.cdk`` names ``infra/constructs/chalice_app.py`` overrides, pinned to
the chalice release it was checked against.

A failure here means the installed chalice changed: re-read ``chalice/cdk/construct.py``,
use its public API if it now does what the override does (a stage name, an output
directory, a step between packaging and the assets), otherwise adapt the override and bump
``CHECKED_CHALICE_VERSION``.
"""

from __future__ import annotations

import inspect
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import chalice
import chalice.api
import pytest
from aws_cdk.assertions import Template
from chalice.cdk import Chalice

from infra.constructs.chalice_app import CHECKED_CHALICE_VERSION, ChaliceApp

pytestmark = pytest.mark.cdk

_SAM = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Transform": "AWS::Serverless-2016-10-31",
    "Resources": {
        "Handler": {
            "Type": "AWS::Serverless::Function",
            "Properties": {"Handler": "app.app", "CodeUri": "./deployment.zip"},
        },
        "ManagedLayer": {
            "Type": "AWS::Serverless::LayerVersion",
            "Properties": {"ContentUri": "./layer-deployment.zip"},
        },
    },
}


def test_installed_chalice_is_the_checked_release() -> None:
    assert chalice.__version__ == CHECKED_CHALICE_VERSION


@pytest.mark.parametrize(
    ("function", "signature"),
    [
        # The public API: no stage name, no output directory, no packaging hook.
        (
            Chalice.__init__,
            "(self, scope, id, source_dir, stage_config=None, preserve_logical_ids=True, **kwargs)",
        ),
        (Chalice._package_app, "(self)"),
        (Chalice._generate_sam_template_with_assets, "(self, chalice_out_dir, package_id)"),
        (
            chalice.api.package_app,
            "(project_dir: str, output_dir: str, stage: str, "
            "chalice_config: Optional[Dict[str, Any]] = None, "
            "package_format: str = 'cloudformation', template_format: str = 'json') -> None",
        ),
    ],
    ids=["Chalice.__init__", "_package_app", "_generate_sam_template_with_assets", "package_app"],
)
def test_private_signatures(function: Callable[..., Any], signature: str) -> None:
    assert str(inspect.signature(function)) == signature


def _fake_package_app(calls: list[dict[str, Any]]) -> Callable[..., None]:
    """``chalice.api.package_app`` writing a two-resource package, recording its arguments."""

    def package_app(**kwargs: Any) -> None:
        calls.append(kwargs)
        out = Path(kwargs["output_dir"])
        out.mkdir(parents=True)
        (out / "sam.json").write_text(json.dumps(_SAM))
        for name in ("deployment.zip", "layer-deployment.zip"):
            with zipfile.ZipFile(out / name, "w") as z:
                z.writestr(f"{name}.txt", name)

    return package_app


def _stack(tmp_path: Path) -> cdk.Stack:
    app = cdk.App(outdir=str(tmp_path / "cdk.out"))
    return cdk.Stack(app, "Probe", env=cdk.Environment(account="111111111111", region="eu-west-1"))


def test_upstream_init_calls_the_overridden_hooks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``__init__`` calls ``_package_app`` then ``_generate_sam_template_with_assets``, which
    reads the package from ``_sam_package_dir`` and writes into the directory it is given."""
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(chalice.api, "package_app", _fake_package_app(calls))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "src").mkdir()
    out_dir = tmp_path / "out"
    stack = _stack(tmp_path)

    app = ChaliceApp(
        stack,
        "App",
        source_dir=tmp_path / "src",
        stage="probe",
        stage_config={"environment_variables": {"X": "1"}},
        out_dir=out_dir,
    )

    [call] = calls
    assert call["stage"] == "probe"
    assert call["chalice_config"] == {"environment_variables": {"X": "1"}}
    assert Path(call["output_dir"]).parent == out_dir
    assert app.sam == _SAM
    assert len(list(out_dir.glob("*.sam_with_assets.json"))) == 1
    assert not (tmp_path / "chalice.out").exists()
    resources = Template.from_stack(stack).to_json()["Resources"]
    code_uri = resources["Handler"]["Properties"]["CodeUri"]
    content_uri = resources["ManagedLayer"]["Properties"]["ContentUri"]
    assert set(code_uri) == set(content_uri) == {"Bucket", "Key"}
    assert code_uri["Key"] != content_uri["Key"]
    assert app.get_resource("Handler").cfn_resource_type == "AWS::Serverless::Function"


def test_upstream_still_names_the_stage_after_the_construct_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reason for overriding ``_package_app``: upstream's stage is the scope's path, and
    its package goes under ``./chalice.out``."""
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(chalice.api, "package_app", _fake_package_app(calls))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "src").mkdir()

    Chalice(_stack(tmp_path), "App", source_dir=str(tmp_path / "src"))

    [call] = calls
    assert call["stage"] == "Probe"
    assert Path(call["output_dir"]).parent == tmp_path / "chalice.out"
