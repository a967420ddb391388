"""Every Lambda function of a stack on Graviton (arm64): 20 % less per GB-second than x86_64
at the same memory, and at least as fast for this app (Python, I/O bound).

* The app's functions: Chalice packages them for ``lambda_architecture = arm64``
  (:mod:`infra.constructs.api`), which builds the dependency layer from manylinux aarch64
  wheels and writes ``Architectures: [arm64]`` on each function and the layer.
* Functions written in ``infra/functions`` name ``Architecture.ARM_64`` themselves.
* Functions that CDK writes for its own constructs (custom-resource handlers such as the
  static site's ``BucketDeployment``) take no architecture: :class:`Arm64Functions`, an
  aspect on each stack, sets it on every ``AWS::Lambda::Function`` that has none. Their code
  is Python or Node.js without native modules of one architecture.
"""

from __future__ import annotations

import jsii
from aws_cdk import IAspect
from aws_cdk import aws_lambda as lambda_
from constructs import IConstruct

ARCHITECTURE = "arm64"


@jsii.implements(IAspect)
class Arm64Functions:
    """Sets ``Architectures: [arm64]`` on every Lambda function left without one, and
    refuses one that names another architecture."""

    def visit(self, node: IConstruct) -> None:
        if not isinstance(node, lambda_.CfnFunction):
            return
        given = node.architectures
        if not given:
            node.architectures = [ARCHITECTURE]
        elif list(given) != [ARCHITECTURE]:
            raise ValueError(f"{node.node.path}: {given} (every function runs on arm64)")
