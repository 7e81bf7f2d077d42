"""NATS provided outside this stack (a managed NATS service): a URL and a credentials file.

The .creds file lives in Secrets Manager (created by the operator, plain text, see
docs/deploy-ecs.md); the stack only references it by name, so no credential is in the template.
"""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2, aws_ecs as ecs, aws_secretsmanager as sm
from constructs import Construct

from .config import NatsSpec
from .nats_client import NatsClient


class ExternalNats(Construct):
    def __init__(self, scope: Construct, id: str, *, spec: NatsSpec) -> None:
        super().__init__(scope, id)
        creds = sm.Secret.from_secret_name_v2(self, "Creds", spec.creds_secret_name)
        port = spec.external_port

        def allow_client(sg: ec2.ISecurityGroup) -> None:
            # The service's address is outside the VPC and not known here: the port is all we
            # can narrow egress to.
            sg.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(port),
                               f"NATS client connections to the external service on {port}")

        self.client = NatsClient(
            url=spec.external_url,
            replicas=spec.external_replicas,  # managed services run clustered JetStream: R3
            # The file's text as an environment variable: smith keeps it in memory, so no file
            # exists that an exec'd program (same uid) could read.
            secrets={"SMITH_NATS_CREDS_DATA": ecs.Secret.from_secrets_manager(creds)},
            allow_client=allow_client,
        )
