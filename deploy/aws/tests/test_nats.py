"""NATS by config: a three-node cluster on ECS (default) or an external service with a creds
file. The cluster's entrypoint script is run for real against the local nats-server."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from helpers import env_of, props, resources, secrets_of, services_by_name, smith_container, \
    task_definition_of
from mistersmith.nats_cluster import ENTRYPOINT_SCRIPT

NODES = ("nats-0", "nats-1", "nats-2")


def nats_container(t, node):
    return smith_container(t, services_by_name(t)[node][1])


def test_three_single_task_services_on_demand(prod_json):
    for node in NODES:
        _, s = services_by_name(prod_json)[node]
        p = props(s)
        assert p["DesiredCount"] == 1
        assert p["DeploymentConfiguration"]["MinimumHealthyPercent"] == 0
        assert p["DeploymentConfiguration"]["MaximumPercent"] == 100
        assert [c["CapacityProvider"] for c in p["CapacityProviderStrategy"]] == ["FARGATE"]
        assert len(p["ServiceRegistries"]) == 1


def test_stable_cloud_map_names(prod_json):
    names = sorted(props(r)["Name"] for r in
                   resources(prod_json, "AWS::ServiceDiscovery::Service").values())
    assert names == list(NODES)
    [ns] = resources(prod_json, "AWS::ServiceDiscovery::PrivateDnsNamespace").values()
    assert props(ns)["Name"] == "mistersmith.prod.local"


def test_unique_server_names_and_full_routes(prod_json):
    names = [env_of(nats_container(prod_json, n))["NATS_SERVER_NAME"] for n in NODES]
    assert names == list(NODES)
    routes = env_of(nats_container(prod_json, "nats-0"))["NATS_ROUTES"].split(",")
    assert routes == [f"nats://{n}.mistersmith.prod.local:6222" for n in NODES]


def test_server_flags(prod_json):
    c = nats_container(prod_json, "nats-0")
    assert c["Image"] == "nats:2.15.1-alpine"
    assert c["EntryPoint"] == ["/bin/sh", "-c"]
    script = c["Command"][0]
    for flag in ("--cluster_name", '--cluster "nats://0.0.0.0:', "--routes", "--name", " -js ",
                 "--sd"):
        assert flag in script, flag


def test_lame_duck_ends_before_the_stop_timeout(prod_json):
    for n in NODES:
        c = nats_container(prod_json, n)
        env = env_of(c)
        total = int(env["NATS_LAME_DUCK_SECONDS"]) + int(env["NATS_LAME_DUCK_GRACE_SECONDS"])
        assert int(env["NATS_LAME_DUCK_SECONDS"]) >= 30  # nats-server's minimum
        assert total < c["StopTimeout"] == 120


def test_store_on_ephemeral_storage_not_efs(any_template):
    assert not [r for r in any_template["Resources"].values() if r["Type"].startswith("AWS::EFS")]
    for td in resources(any_template, "AWS::ECS::TaskDefinition").values():
        for v in props(td).get("Volumes", []):
            assert "EFSVolumeConfiguration" not in v


def test_store_volume_and_size(prod_json):
    for n in NODES:
        td = props(task_definition_of(prod_json, services_by_name(prod_json)[n][1]))
        assert td["EphemeralStorage"] == {"SizeInGiB": 50}
        assert td["Volumes"] == [{"Name": "jetstream"}]
        c = nats_container(prod_json, n)
        assert c["MountPoints"] == [{"ContainerPath": "/data", "ReadOnly": False,
                                     "SourceVolume": "jetstream"}]
        assert env_of(c)["NATS_STORE_DIR"].startswith("/data/")
        assert c["RestartPolicy"]["Enabled"] is True  # restarts in place keep the store


def test_each_node_pinned_to_its_own_az(prod_json):
    subnet_az = {k: props(r)["AvailabilityZone"]
                 for k, r in resources(prod_json, "AWS::EC2::Subnet").items()}
    azs = []
    for n in NODES:
        subnets = props(services_by_name(prod_json)[n][1])["NetworkConfiguration"][
            "AwsvpcConfiguration"]["Subnets"]
        assert len(subnets) == 1
        azs.append(subnet_az[subnets[0]["Ref"]])
    assert sorted(azs) == ["us-east-1a", "us-east-1b", "us-east-1c"]


def test_nodes_are_replaced_one_after_another(prod_json):
    ids = [services_by_name(prod_json)[n][0] for n in NODES]
    r = prod_json["Resources"]
    assert ids[0] in r[ids[1]].get("DependsOn", [])
    assert ids[1] in r[ids[2]].get("DependsOn", [])


def test_nats_password_from_secrets_manager(prod_json):
    c = nats_container(prod_json, "nats-1")
    assert sorted(secrets_of(c)) == ["NATS_PASSWORD", "NATS_USER"]
    assert "NATS_PASSWORD" not in env_of(c)


# --- external NATS -----------------------------------------------------------------------

def test_external_mode_has_no_nats_services(options_json):
    assert not [n for n in services_by_name(options_json) if n.startswith("nats")]
    assert not resources(options_json, "AWS::ServiceDiscovery::Service")


def test_external_mode_passes_the_creds_text_as_a_secret_never_a_file(options_json):
    # A file would be readable by the exec roles' programs (same uid); the text in the
    # environment is not (smith keeps it in memory and is not dumpable).
    for role in ("orchestrator", "compile", "gateway"):
        _, s = services_by_name(options_json)[role]
        defs = {c["Name"]: c for c in props(task_definition_of(options_json, s))[
            "ContainerDefinitions"]}
        assert list(defs) == ["smith"]
        smith = defs["smith"]
        env = env_of(smith)
        assert env["SMITH_NATS_URL"] == "tls://connect.example.net:4222"
        assert "SMITH_NATS_CREDS" not in env
        assert "SMITH_NATS_PASSWORD" not in secrets_of(smith)
        [creds] = [x for x in smith["Secrets"] if x["Name"] == "SMITH_NATS_CREDS_DATA"]
        assert ":secret:mistersmith/nats-creds" in json.dumps(creds["ValueFrom"])
        assert not smith.get("MountPoints")
        assert not props(task_definition_of(options_json, s)).get("Volumes")


def test_external_mode_egress_to_the_nats_port(options_json):
    _, s = services_by_name(options_json)["execute"]
    [sg] = props(s)["NetworkConfiguration"]["AwsvpcConfiguration"]["SecurityGroups"]
    egress = props(options_json["Resources"][sg["Fn::GetAtt"][0]])["SecurityGroupEgress"]
    assert sorted((e["CidrIp"], e["FromPort"]) for e in egress) == [
        ("0.0.0.0/0", 443), ("0.0.0.0/0", 4222)]


# --- the entrypoint script, run for real ---------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _script_env(tmp_path: Path, client: int, route: int, monitor: int) -> dict:
    return {
        **os.environ,
        "NATS_SERVER_NAME": "nats-test", "NATS_CLUSTER_NAME": "smith-test",
        "NATS_ROUTES": f"nats://127.0.0.1:{route}",
        "NATS_CLIENT_PORT": str(client), "NATS_ROUTE_PORT": str(route),
        "NATS_MONITOR_PORT": str(monitor), "NATS_STORE_DIR": str(tmp_path / "js"),
        "NATS_CONFIG_FILE": str(tmp_path / "nats.conf"),
        "NATS_LAME_DUCK_SECONDS": "90", "NATS_LAME_DUCK_GRACE_SECONDS": "10",
        "NATS_USER": "smith", "NATS_PASSWORD": "s3cretPassw0rd",
    }


def test_entrypoint_script_is_valid_sh():
    subprocess.run(["sh", "-n", "-c", ENTRYPOINT_SCRIPT], check=True)


def test_entrypoint_turns_sigterm_into_lame_duck(tmp_path):
    """A stand-in nats-server records its arguments and the signal it gets."""
    fake = tmp_path / "bin" / "nats-server"
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\necho "$@" > "$FAKE_OUT.args"\n'
                    'trap \'echo USR2 > "$FAKE_OUT.sig"; exit 0\' USR2\n'
                    'trap \'echo TERM > "$FAKE_OUT.sig"; exit 1\' TERM\n'
                    'while :; do sleep 0.05; done\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    env = _script_env(tmp_path, 1, 2, 3)
    env["PATH"] = f"{fake.parent}:{env['PATH']}"
    env["FAKE_OUT"] = str(tmp_path / "out")
    p = subprocess.Popen(["sh", "-c", ENTRYPOINT_SCRIPT], env=env)
    try:
        deadline = time.time() + 10
        while not (tmp_path / "out.args").exists() and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=10) == 0
    finally:
        if p.poll() is None:
            p.kill()
    assert (tmp_path / "out.sig").read_text().strip() == "USR2"
    args = (tmp_path / "out.args").read_text().split()
    assert args[:2] == ["-c", str(tmp_path / "nats.conf")]
    assert "--name" in args and "nats-test" in args and "-js" in args
    conf = (tmp_path / "nats.conf").read_text()
    assert 'lame_duck_duration: "90s"' in conf and 'password: "s3cretPassw0rd"' in conf
    assert stat.S_IMODE((tmp_path / "nats.conf").stat().st_mode) == 0o600


@pytest.mark.skipif(shutil.which("nats-server") is None, reason="nats-server not installed")
def test_entrypoint_starts_a_real_nats_server(tmp_path):
    client, route, monitor = _free_port(), _free_port(), _free_port()
    env = _script_env(tmp_path, client, route, monitor)
    log = open(tmp_path / "server.log", "w")
    p = subprocess.Popen(["sh", "-c", ENTRYPOINT_SCRIPT], env=env, stdout=log, stderr=log,
                         start_new_session=True)
    try:
        varz = None
        deadline = time.time() + 15
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{monitor}/varz", timeout=1) as r:
                    varz = json.load(r)
                break
            except OSError:
                time.sleep(0.1)
        assert varz is not None, (tmp_path / "server.log").read_text()
        assert varz["server_name"] == "nats-test"
        assert varz["cluster"]["name"] == "smith-test"
        assert varz["jetstream"]["config"]["store_dir"].startswith(str(tmp_path / "js"))
        # unauthenticated clients are refused
        with socket.create_connection(("127.0.0.1", client), timeout=2) as s:
            assert b'"auth_required":true' in s.recv(4096)
        p.send_signal(signal.SIGTERM)
        deadline = time.time() + 10
        while "lame duck" not in (tmp_path / "server.log").read_text().lower() \
                and time.time() < deadline:
            time.sleep(0.1)
        assert "lame duck" in (tmp_path / "server.log").read_text().lower()
    finally:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait(timeout=10)
        log.close()
