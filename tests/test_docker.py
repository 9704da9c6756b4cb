"""The Docker files, checked without Docker (no engine runs here): the compose services and settings
against what the code reads, the image's command against the CLI the tests use, and the wheel the image
installs (it must carry the migrations; `bridge demo`, which needs a clone, says so there)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from bridge.adapter import platforms
from bridge.settings import BridgeSettings, OpenWebUISettings

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "docker" / "Dockerfile").read_text()
COMPOSE = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())
SECTIONS = (OpenWebUISettings, BridgeSettings, *(p.settings for p in platforms().values()))
KNOWN = {f"{c.model_config.get('env_prefix', '')}{f}".upper() for c in SECTIONS for f in c.model_fields}
REPLICAS = ("bridge-1", "bridge-2")


def dockerfile_env() -> dict[str, str]:
    block = re.search(r"^ENV (.+?)(?=^\S)", DOCKERFILE, re.M | re.S)
    assert block
    return dict(re.findall(r"(\w+)=(\S+)", block.group(1)))


def test_image_runs_bridge_run_as_a_user_with_data_on_a_volume() -> None:
    assert 'ENTRYPOINT ["bridge"]' in DOCKERFILE and 'CMD ["run"]' in DOCKERFILE
    user = re.findall(r"^USER (\S+)", DOCKERFILE, re.M)
    assert user and user[-1] not in ("root", "0")
    env = dockerfile_env()
    assert set(env) - {"PYTHONUNBUFFERED"} <= KNOWN
    assert f'VOLUME ["{env["BRIDGE_DATA_DIR"]}"]' in DOCKERFILE
    port = env["BRIDGE_HEALTH_PORT"]
    assert f"EXPOSE {port}" in DOCKERFILE and f"127.0.0.1:{port}/healthz" in DOCKERFILE


def test_compose_wires_the_bridge_to_openwebui_with_known_settings() -> None:
    services = COMPOSE["services"]
    assert {"open-webui", "bridge", "ollama"} <= set(services)
    assert services["ollama"]["profiles"] == ["ollama"]
    owui = services["open-webui"]
    assert owui["environment"]["ENABLE_API_KEYS"] == "true"
    bridge = services["bridge"]
    env = bridge["environment"]
    assert set(env) <= KNOWN
    assert env["OPENWEBUI_URL"] == "http://open-webui:8080"
    assert any(p.endswith(":8080") for p in owui["ports"])
    targets = {v.split(":", 1)[1] for v in bridge["volumes"]}
    assert env["BRIDGE_DATA_DIR"] in targets
    assert env["BRIDGE_HEALTH_PORT"] == dockerfile_env()["BRIDGE_HEALTH_PORT"]
    assert bridge["build"]["dockerfile"] == "docker/Dockerfile"
    grace = float(bridge["stop_grace_period"].rstrip("s"))
    assert grace > BridgeSettings.model_fields["shutdown_grace"].default
    named = {v.split(":", 1)[0] for s in services.values() for v in s.get("volumes", [])}
    assert named <= set(COMPOSE["volumes"])


def test_the_replicas_profile_runs_two_bridges_on_one_postgresql_with_the_discord_shards_split() -> None:
    services = COMPOSE["services"]
    profile = {name for name, service in services.items() if "replicas" in service.get("profiles", [])}
    assert profile == {"postgres", *REPLICAS}, "the profile adds PostgreSQL and two replicas, nothing else"
    postgres = services["postgres"]
    assert postgres["image"] == "postgres:15"
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    [(volume, target)] = [v.split(":") for v in postgres["volumes"]]
    assert target == "/var/lib/postgresql/data" and volume in COMPOSE["volumes"]
    pg_env = postgres["environment"]

    replicas = [services[name] for name in REPLICAS]
    shard_ids: list[int] = []
    for replica in replicas:
        env = replica["environment"]
        assert set(env) <= KNOWN
        url = urlsplit(env["BRIDGE_DB_URL"])
        assert url.scheme == "postgresql" and url.hostname == "postgres" and url.port == 5432
        assert (url.username, url.password, url.path) == (
            pg_env["POSTGRES_USER"],
            pg_env["POSTGRES_PASSWORD"],
            f"/{pg_env['POSTGRES_DB']}",
        )
        assert replica["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert env["OPENWEBUI_URL"] == services["bridge"]["environment"]["OPENWEBUI_URL"]
        assert replica["build"] == services["bridge"]["build"] and replica["env_file"] == services["bridge"]["env_file"]
        assert float(replica["stop_grace_period"].rstrip("s")) > BridgeSettings.model_fields["shutdown_grace"].default
        # the image's health check asks the port inside; each replica is reached on its own port outside
        [port] = replica["ports"]
        assert port.split(":")[1] == env["BRIDGE_HEALTH_PORT"] == dockerfile_env()["BRIDGE_HEALTH_PORT"]
        assert int(env["DISCORD_SHARD_COUNT"]) == len(REPLICAS)
        shard_ids += [int(shard) for shard in env["DISCORD_SHARD_IDS"].split(",")]
    host_ports = [p.split(":")[0] for s in services.values() for p in s.get("ports", [])]
    assert len(host_ports) == len(set(host_ports)), "every service on its own host port"
    assert sorted(shard_ids) == list(range(len(REPLICAS))), "every shard runs in exactly one replica"


def test_the_wheel_carries_migrations_and_its_bridge_command_works(tmp_path: Path) -> None:
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    wheel = next(tmp_path.glob("openwebui_bridge-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        for dialect in ("sqlite", "postgresql"):
            assert f"bridge/_migrations/{dialect}/0001_initial.sql" in names
        assert any(
            n.endswith("entry_points.txt") and "bridge = bridge.cli:main" in archive.read(n).decode() for n in names
        )
        archive.extractall(tmp_path / "site")
    db = tmp_path / "data" / "bridge.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENWEBUI_")}
    env |= {"PYTHONPATH": str(tmp_path / "site"), "BRIDGE_DB_PATH": str(db), "OWUI_VENV": str(tmp_path / "owui")}
    where = subprocess.run(
        [sys.executable, "-c", "import bridge; print(bridge.__file__)"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.startswith(str(tmp_path / "site"))

    def bridge(command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bridge", command],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    migrated = bridge("migrate")
    assert migrated.returncode == 0 and db.exists(), migrated.stderr
    # `bridge demo` needs the clone's simulators/, which the wheel does not carry: it says so in one line
    demo = bridge("demo")
    assert demo.returncode == 1 and "Traceback" not in demo.stderr, demo.stderr
    assert "from a clone of the repository" in demo.stderr and len(demo.stderr.splitlines()) == 1, demo.stderr
