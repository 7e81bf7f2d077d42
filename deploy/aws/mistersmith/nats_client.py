"""What a smith service needs to reach NATS, whichever way NATS is provided.

Both modes (nats_cluster.NatsCluster, nats_external.ExternalNats) hand the role services one of
these: the SMITH_* environment, the Secrets Manager secrets to inject (a credentials file's text
among them), and how to open the network path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from aws_cdk import aws_ec2 as ec2, aws_ecs as ecs


@dataclass
class NatsClient:
    url: str
    replicas: int  # SMITH_REPLICAS: 3 on a three-node cluster, else what the config says
    secrets: dict[str, ecs.Secret] = field(default_factory=dict)
    # Opens egress from a client security group to NATS (and ingress on NATS when it is ours).
    allow_client: Callable[[ec2.ISecurityGroup], None] = lambda sg: None

    @property
    def environment(self) -> dict[str, str]:
        return {"SMITH_NATS_URL": self.url, "SMITH_REPLICAS": str(self.replicas)}
