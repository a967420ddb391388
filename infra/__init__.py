"""Summon's CDK app (aws-cdk-lib v2): constructs by logical unit, one regional stack wiring
them, deployed as a primary and a standby region from the same code.

Run it from the repository root as a module (``python -m infra.app``) or through
``infra/scripts/synth.py``: the folder ``infra/constructs`` would shadow the ``constructs``
package if ``infra/`` itself were on ``sys.path``.
"""
