"""The config layer refuses what Fargate, nats-server or the design would refuse later."""

from __future__ import annotations

import dataclasses

import pytest

from mistersmith.config import dev, from_context, prod
from mistersmith.fargate import VALID_TASK_SIZES, check_task_size, is_valid_task_size


@pytest.mark.parametrize("cpu,mem", [(256, 512), (256, 2048), (512, 4096), (1024, 8192),
                                     (2048, 16384), (4096, 30720), (8192, 61440),
                                     (16384, 122880)])
def test_valid_sizes(cpu, mem):
    assert is_valid_task_size(cpu, mem)


@pytest.mark.parametrize("cpu,mem", [(256, 4096), (512, 512), (1024, 1024), (1024, 9216),
                                     (2048, 2048), (8192, 18432), (16384, 36864), (128, 512),
                                     (3072, 8192)])
def test_invalid_sizes(cpu, mem):
    assert not is_valid_task_size(cpu, mem)
    with pytest.raises(ValueError):
        check_task_size("x", cpu, mem)


def test_table_counts():
    assert len(VALID_TASK_SIZES[512]) == 4 and len(VALID_TASK_SIZES[4096]) == 23
    assert VALID_TASK_SIZES[8192][1] - VALID_TASK_SIZES[8192][0] == 4096


def test_both_envs_validate():
    prod().validate()
    dev().validate()


def test_bad_role_size_is_refused():
    cfg = prod()
    roles = tuple(dataclasses.replace(r, memory_mib=4096) if r.name == "gateway" else r
                  for r in cfg.roles)
    with pytest.raises(ValueError, match="gateway"):
        dataclasses.replace(cfg, roles=roles).validate()


def test_stop_timeout_above_fargate_limit_is_refused():
    with pytest.raises(ValueError, match="120"):
        dataclasses.replace(prod(), stop_timeout_seconds=121).validate()


def test_lame_duck_must_end_before_stop_timeout():
    cfg = prod()
    with pytest.raises(ValueError, match="lame duck"):
        dataclasses.replace(cfg, nats=dataclasses.replace(
            cfg.nats, lame_duck_duration_seconds=115)).validate()
    with pytest.raises(ValueError, match="lame duck"):
        dataclasses.replace(cfg, nats=dataclasses.replace(
            cfg.nats, lame_duck_duration_seconds=20)).validate()


def test_external_needs_url():
    with pytest.raises(ValueError, match="natsUrl"):
        from_context({"env": "prod", "nats": "external"})


def test_context_overrides():
    cfg = from_context({"env": "prod", "region": "eu-west-1", "image": "repo/smith:2",
                        "workerScaling": "steps", "deployment": "bluegreen",
                        "account": "210987654321"})
    assert cfg.availability_zones == ("eu-west-1a", "eu-west-1b", "eu-west-1c")
    assert (cfg.image, cfg.worker_scaling.mode, cfg.deployment, cfg.account) == (
        "repo/smith:2", "steps", "bluegreen", "210987654321")
    with pytest.raises(ValueError):
        from_context({"env": "staging"})
    with pytest.raises(ValueError):
        from_context({"env": "prod", "deployment": "yolo"})
