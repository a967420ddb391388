"""The CDK app: ``cdk`` runs it from ``infra/`` (``cdk.json``: ``../.venv/bin/python app.py``);
``python -m infra.app`` from the repository root works too.

Context selects what to synthesize: ``summon:role`` = ``primary`` | ``standby`` | ``all``
(default ``all``: both regional stacks), plus the other ``summon:*`` keys of
:mod:`infra.settings`. Synthesis is offline: no lookups, no credentials.
"""

from __future__ import annotations

import sys
from pathlib import Path

# ``python infra/app.py`` would put infra/ on sys.path, where ``infra/constructs`` would
# shadow the ``constructs`` package: run from the repository root either way.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
if str(_HERE.parent) not in sys.path:
    sys.path.insert(0, str(_HERE.parent))

import aws_cdk as cdk  # noqa: E402

from infra.settings import Role, Settings  # noqa: E402
from infra.stacks.regional import RegionalStack  # noqa: E402

CHALICE_OUT = _HERE / "chalice.out"


def build(
    app: cdk.App, settings: Settings | None = None, *, chalice_out_dir: Path = CHALICE_OUT
) -> dict[Role, RegionalStack]:
    """Add the regional stacks the settings ask for to ``app``."""
    settings = settings or Settings.from_node(app.node)
    stacks: dict[Role, RegionalStack] = {}
    for role in settings.roles:  # standby first: the primary names its resources
        stacks[role] = RegionalStack(
            app,
            settings.stack_name(role),
            stack_name=settings.stack_name(role),
            settings=settings,
            role=role,
            chalice_out_dir=chalice_out_dir,
        )
    return stacks


def main() -> None:
    app = cdk.App()
    build(app)
    app.synth()


if __name__ == "__main__":
    main()
