"""``chalice.cdk.Chalice`` for a named Chalice stage, isolated from the process, packaged as
``make package`` packages: the one module of ``infra/`` that overrides private names of a
dependency.

:class:`ChaliceApp` creates what ``chalice.cdk.Chalice`` creates (the ``ChaliceAppCode`` and
``ChaliceManagedLayer`` assets and the ``ChaliceApp`` ``CfnInclude`` of the SAM template
``chalice package`` writes) with these differences:

* it packages for the Chalice ``stage`` it is given, so ``.chalice/config.json``'s stage
  settings apply (upstream names the stage after the construct path);
* it restores ``os.environ``, ``sys.path`` and the ``app`` / ``chalicelib`` modules after
  packaging (Chalice copies the stage's ``environment_variables`` into ``os.environ`` and
  imports ``app.py`` in-process), so the primary and the standby stack can be packaged in
  one process and tests sharing the process see no CDK tokens in their environment;
* it writes its intermediate files under ``out_dir`` (upstream: ``./chalice.out``);
* it finishes the package with :func:`infra.packaging.finish` (runtime SDK dropped,
  bytecode added) before the assets hash it, and checks the dependency layer
  (:func:`infra.packaging.check_layer`: every requirement there, native code for the
  functions' architecture).

``chalice.cdk.Chalice``'s public API (``source_dir``, ``stage_config``,
``preserve_logical_ids``) has none of these: its ``__init__`` takes the stage name from
``scope.to_string()``, the output directory from ``os.getcwd()``, and calls
``_package_app()`` and then ``_generate_sam_template_with_assets(chalice_out_dir,
package_id)`` with nothing public in between. Private names this module depends on (chalice
:data:`CHECKED_CHALICE_VERSION`), each checked by ``infra/tests/test_chalice_private.py``:

* ``Chalice._package_app(self)``, overridden: called by ``__init__`` before any asset exists;
* ``Chalice._generate_sam_template_with_assets(self, chalice_out_dir, package_id)``,
  overridden and called: reads ``sam.json``, ``deployment.zip`` and ``layer-deployment.zip``
  from ``self._sam_package_dir`` and writes the template it returns into ``chalice_out_dir``;
* ``Chalice._sam_package_dir``, read and reassigned: the package directory;
* ``chalice.api.package_app(project_dir, output_dir, stage, chalice_config)``, called (the
  function upstream's ``_package_app`` calls; its module calls itself internal-only).
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

CHECKED_CHALICE_VERSION = "1.34.0"
"""The chalice release whose private names and behaviour this module was checked against."""

_APP_MODULES = ("app", "chalicelib")


def _is_app_module(name: str) -> bool:
    return any(name == m or name.startswith(m + ".") for m in _APP_MODULES)


class ChaliceApp(Chalice):
    """The Chalice app in ``source_dir`` packaged for Chalice stage ``stage`` with
    ``stage_config`` (a ``.chalice/config.json`` stage's structure), intermediate files under
    ``out_dir``. :attr:`sam` is the packaged template; the inherited ``get_resource`` returns
    its resources as CDK objects."""

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
        layer = Path(self._sam_package_dir) / "layer-deployment.zip"
        if layer.is_file():
            packaging.check_layer(
                layer,
                architecture=(self.stage_config or {}).get("lambda_architecture", "x86_64"),
                requirements=Path(self.source_dir) / "requirements.txt",
            )

    def _generate_sam_template_with_assets(self, chalice_out_dir: str, package_id: str) -> str:
        del chalice_out_dir
        self._summon_out_dir.mkdir(parents=True, exist_ok=True)
        path: str = super()._generate_sam_template_with_assets(
            str(self._summon_out_dir), package_id
        )
        return path
