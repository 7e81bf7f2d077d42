"""The single `smith` image every role runs, taken from config (`-c image=...`).

A private ECR URI becomes an ECR repository reference so that the execution role gets pull
rights on that repository only; any other reference (Docker Hub, ECR Public) is pulled as is.
Neither needs Docker nor an AWS call at synth time.
"""

from __future__ import annotations

import re

from aws_cdk import Stack, aws_ecr as ecr, aws_ecs as ecs
from constructs import Construct

_ECR = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/"
    r"(?P<repo>[a-z0-9][a-z0-9._/-]*)(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?$")


def smith_image(scope: Construct, uri: str) -> ecs.ContainerImage:
    m = _ECR.match(uri)
    if not m:
        return ecs.ContainerImage.from_registry(uri)
    partition = Stack.of(scope).partition
    repo = ecr.Repository.from_repository_attributes(
        scope, "SmithRepository",
        repository_name=m["repo"],
        repository_arn=f"arn:{partition}:ecr:{m['region']}:{m['account']}:repository/{m['repo']}",
    )
    return ecs.ContainerImage.from_ecr_repository(repo, m["digest"] or m["tag"] or "latest")
