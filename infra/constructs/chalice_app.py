"""``chalice.cdk.Chalice``, packaged for a named Chalice stage and isolated from the process.

``chalice.cdk.Chalice`` packages the app by importing ``app.py`` in-process: Chalice copies
the stage's ``environment_variables`` into ``os.environ`` before the import (that is how the
app's decorator arguments, e.g. the Cognito authorizer's pool ARN, see this stack's values)
and leaves them there, and Python caches the imported ``app``. This subclass

* packages for the Chalice stage it is given (the upstream construct uses the construct
  path as the stage name, so ``.chalice/config.json`` stage settings would never apply);
* restores ``os.environ``, ``sys.path`` and the ``app`` / ``chalicelib`` modules afterwards, so two
  stacks (primary and standby) can be packaged in one process and tests that share the
  process see no CDK tokens in their environment;
* writes its intermediate files under ``out_dir`` instead of ``./chalice.out``;
* leaves the AWS SDK the Lambda runtime provides out of the dependency layer and adds its
  bytecode, as ``make package`` does (``infra/packaging.py``).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from aws_cdk import Stack
from chalice.cdk import Chalice
from constructs import Construct

from infra import packaging

_APP_MODULES = ("app", "chalicelib")


def _is_app_module(name: str) -> bool:
    return any(name == m or name.startswith(m + ".") for m in _APP_MODULES)


class ChaliceApp(Chalice):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        source_dir: Path,
        stage: str,
        stage_config: dict[str, Any],
        out_dir: Path,
    ) -> None:
        # Read by the overridden hooks below, which Chalice.__init__ calls.
        self._summon_stage = stage
        self._summon_out_dir = out_dir
        super().__init__(scope, id_, source_dir=str(source_dir), stage_config=stage_config)

    @property
    def sam(self) -> dict[str, Any]:
        """The template ``chalice package`` wrote (before CDK's asset substitution)."""
        data: dict[str, Any] = json.loads((Path(self._sam_package_dir) / "sam.json").read_text())
        return data

    def _package_app(self) -> None:
        from chalice import api

        self._sam_package_dir = str(self._summon_out_dir / Path(self._sam_package_dir).name)
        saved_env = dict(os.environ)
        saved_path = list(sys.path)
        saved_modules = {k: v for k, v in sys.modules.items() if _is_app_module(k)}
        for name in saved_modules:
            del sys.modules[name]
        # Chalice needs a region to package; it is the stack's (never a credential lookup).
        os.environ["AWS_DEFAULT_REGION"] = Stack.of(self).region
        try:
            api.package_app(
                project_dir=self.source_dir,
                output_dir=self._sam_package_dir,
                stage=self._summon_stage,
                chalice_config=self.stage_config,
            )
        finally:
            os.environ.clear()
            os.environ.update(saved_env)
            sys.path[:] = saved_path
            for name in [k for k in sys.modules if _is_app_module(k)]:
                del sys.modules[name]
            sys.modules.update(saved_modules)
        packaging.finish(Path(self.source_dir), [Path(self._sam_package_dir)])

    def _generate_sam_template_with_assets(self, chalice_out_dir: str, package_id: str) -> str:
        del chalice_out_dir
        self._summon_out_dir.mkdir(parents=True, exist_ok=True)
        path: str = super()._generate_sam_template_with_assets(
            str(self._summon_out_dir), package_id
        )
        return path
