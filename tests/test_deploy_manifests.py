"""deploy/ cannot rot: every manifest parses, and its ports, variable names, commands and health paths are the
ones the code uses (bot/settings.py, the stack's own commands in bot/runner.py, the real servers' routes).

The health paths are asked of a real running assistant (the session's `assistant`): each probe path of the
Kubernetes manifests and of docker-compose.yml must answer 200 on the server it probes.

The encoder (one per host, bot/encoder_service/) has no port in bot/settings.py: `bot run` gives it a free one.
Its fixed port in deploy/ is `bot.encoder_service.DEFAULT_PORT` (the default of `bot encoder`), its probe path
`HEALTH_PATH`, and every other process finds it through `CANYU_ENCODER_URL`.

`docker compose config` checks the compose file where Docker's Compose is installed (v2, or v1's `docker-compose`
on a copy without the top-level `name`, a key v1 predates); elsewhere the YAML parse above is all that runs.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any, Dict, Iterator, List, Set, Tuple

import pytest
import requests
import yaml

from bot.cli import build_parser
from bot.cli.encoder import command as encoder_command
from bot.embedding_models import ENV_ENCODER_URL
from bot.encoder_client import parse_url
from bot.encoder_service import (
    CHILD_NAME as ENCODER,
    DEFAULT_PORT as DEFAULT_ENCODER_PORT,
    HEALTH_PATH as ENCODER_HEALTH,
)
from bot.runner import Stack
from bot.settings import DEFAULT_ACTIONS_PORT, DEFAULT_CONSOLE_PORT, DEFAULT_RASA_PORT, load_settings

HOME = Path(__file__).resolve().parent.parent
DEPLOY = HOME / "deploy"
KUBE = DEPLOY / "kubernetes"
PORTS = {"rasa": DEFAULT_RASA_PORT, "actions": DEFAULT_ACTIONS_PORT, "console": DEFAULT_CONSOLE_PORT, "redis": 6379,
         ENCODER: DEFAULT_ENCODER_PORT}
MODULES = {"rasa": ["bot.child", "rasa", "run"], "actions": ["bot.child", "bot.actions.server"],
           "console": ["bot.child", "bot.console"], ENCODER: ["bot.child", "bot.encoder_service"]}
LISTENS_ON_ALL = {"console": "--host", ENCODER: "--host"}
"""Servers whose address is a flag: in a container it must be 0.0.0.0 (`bot run` binds 127.0.0.1)."""
ENCODER_URL = f"tcp://{ENCODER}:{DEFAULT_ENCODER_PORT}"
VALUE_OF = {"CANYU_RASA_PORT": str(DEFAULT_RASA_PORT), "CANYU_ACTIONS_PORT": str(DEFAULT_ACTIONS_PORT),
            "CANYU_CONSOLE_PORT": str(DEFAULT_CONSOLE_PORT), ENV_ENCODER_URL: ENCODER_URL, "RASA_URL": None,
            "REDIS_URL": None}
ENCODES = ("rasa", "actions", "console")
"""The apps that ask the encoder for vectors: they wait for it and are given its address."""


def _documents() -> Iterator[Tuple[Path, Dict[str, Any]]]:
    for path in sorted(KUBE.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc:
                yield path, doc


def _pod_specs() -> Iterator[Tuple[str, Dict[str, Any]]]:
    """(app, pod spec) of every Deployment, StatefulSet, DaemonSet and CronJob."""
    for _, doc in _documents():
        spec = doc.get("spec", {})
        if doc["kind"] == "CronJob":
            spec = spec["jobTemplate"]["spec"]
        if doc["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "CronJob"):
            yield doc["metadata"]["name"], spec["template"]["spec"]


def _containers() -> Iterator[Tuple[str, Dict[str, Any]]]:
    """(app, container) of every workload (init containers not included)."""
    for app, pod in _pod_specs():
        for container in pod["containers"]:
            yield app, container


def _command(container: Dict[str, Any]) -> List[str]:
    """The command's words (a `sh -c "exec …"` wrapper unwrapped)."""
    words = list(container.get("command") or [])
    if words[:2] == ["sh", "-c"]:
        words = words[2].replace("exec ", "", 1).split()
    return words


def _flags(words: List[str]) -> Set[str]:
    return {w for w in words if w.startswith("--")}


def _names_read_by_code() -> str:
    """All Python source of bot/ and connectors/, where every variable the manifests set must be named."""
    return "\n".join(p.read_text(encoding="utf-8") for folder in ("bot", "connectors")
                     for p in (HOME / folder).rglob("*.py"))


def _stack_commands(tmp_path: Path) -> Dict[str, List[str]]:
    """What `bot run` itself starts, by app: the words after `python -m` (with its action server, as deploy/'s
    pods: one Rasa server runs the actions itself by default)."""
    settings = type(load_settings())(home=HOME, data_dir=tmp_path / "data")
    stack = Stack(settings=settings, model=HOME / "models" / "canyu.tar.gz", extra_env={"CANYU_ACTIONS": "http"})
    plan = {child.name.split("-", 1)[0]: child.args[2:] for child in stack._plan()}
    return plan


def test_every_manifest_parses_and_names_a_kind() -> None:
    docs = list(_documents())
    kinds = {doc["kind"] for _, doc in docs}
    assert {"Deployment", "Service", "ConfigMap", "Secret", "StatefulSet", "HorizontalPodAutoscaler"} <= kinds
    assert all(doc.get("apiVersion") and doc.get("metadata", {}).get("name") for _, doc in docs)
    for path in [DEPLOY / "docker-compose.yml", DEPLOY / "endpoints.yml"]:
        assert yaml.safe_load(path.read_text(encoding="utf-8")), path


def test_containers_listen_probe_and_are_served_on_the_cli_ports(tmp_path: Path) -> None:
    stack = _stack_commands(tmp_path)
    apps = dict(_containers())
    assert set(PORTS) | {"privacy-sweep"} <= set(apps), set(apps)
    for app, port in PORTS.items():
        container = apps[app]
        assert [p["containerPort"] for p in container["ports"]] == [port], app
        for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
            check = container.get(probe, {})
            target = check.get("httpGet") or check.get("tcpSocket")
            if target:
                assert target["port"] == port, (app, probe)
        if app in MODULES:
            words = _command(container)
            assert words[:2] == ["python", "-m"] and words[2:2 + len(MODULES[app])] == MODULES[app], (app, words)
            assert words[words.index("--port") + 1] == str(port), (app, words)
            assert _flags(words) == _flags(stack[app]) | ({"--interface"} if app == "rasa" else set()), (app, words)
            if app in LISTENS_ON_ALL:
                assert words[words.index(LISTENS_ON_ALL[app]) + 1] == "0.0.0.0", (app, words)
    services = {doc["metadata"]["name"]: doc for _, doc in _documents() if doc["kind"] == "Service"}
    for app, port in PORTS.items():
        assert services[app]["spec"]["selector"] == {"app": app}
        assert [(p["port"], p["targetPort"]) for p in services[app]["spec"]["ports"]] == [(port, port)], app


def test_every_variable_set_is_one_the_code_reads_with_the_right_value() -> None:
    code = _names_read_by_code()
    set_by: Dict[str, str] = {}
    for _path, doc in _documents():
        if doc["kind"] in ("ConfigMap", "Secret"):
            for name, value in (doc.get("data") or doc.get("stringData") or {}).items():
                if name != "endpoints.yml":
                    set_by[name] = str(value)
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text(encoding="utf-8"))
    set_by.update({k: str(v) for k, v in compose["x-canyu"]["environment"].items()})
    for line in (DEPLOY / "env.example").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, value = line.split("=", 1)
            set_by.setdefault(name, value)
    unknown = sorted(n for n in set_by if not re.search(rf"[\"']{n}[\"']", code))
    assert not unknown, f"set in deploy/ but read nowhere in bot/ or connectors/: {unknown}"
    for name, value in VALUE_OF.items():
        if value is not None:
            assert set_by[name] == value, name
    assert set_by["REDIS_URL"].startswith("redis://redis:6379")
    assert parse_url(set_by[ENV_ENCODER_URL]) == (ENCODER, DEFAULT_ENCODER_PORT)
    for name in ("RASA_TOKEN", "CANYU_REST_TOKEN", "CANYU_CONSOLE_SECRET"):
        assert name in set_by, f"{name} must be provided to the pods"


def test_container_endpoints_match_the_repository_but_for_the_actions_host_and_the_lock() -> None:
    repo = yaml.safe_load((HOME / "endpoints.yml").read_text(encoding="utf-8"))
    mounted = yaml.safe_load((DEPLOY / "endpoints.yml").read_text(encoding="utf-8"))
    config_map = next(doc for _, doc in _documents() if doc["metadata"]["name"] == "canyu-endpoints")
    assert yaml.safe_load(config_map["data"]["endpoints.yml"]) == mounted, "kubernetes/config.yaml != endpoints.yml"
    assert mounted["action_endpoint"] == {"url": f"http://actions:{DEFAULT_ACTIONS_PORT}/webhook"}
    assert mounted["lock_store"] == {"type": "bot.locks.AtomicLockStore"}
    from bot.locks import AtomicLockStore  # the class the pods load

    assert AtomicLockStore.__module__ + "." + AtomicLockStore.__name__ == mounted["lock_store"]["type"]

    same = {k: v for k, v in mounted.items() if k not in ("action_endpoint", "lock_store")}
    assert same == {k: v for k, v in repo.items() if k not in ("action_endpoint", "lock_store")}, (
        "endpoints.yml changed: bring deploy/endpoints.yml and deploy/kubernetes/config.yaml along")
    assert set(repo) == set(mounted)


def _compose_checks() -> Dict[str, Tuple[int, str]]:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text(encoding="utf-8"))
    found = {}
    for name, service in compose["services"].items():
        test = " ".join(service.get("healthcheck", {}).get("test", []))
        match = re.search(r"http://127\.0\.0\.1:(\d+)(/[^'\"]*)", test)
        if match:
            found[name] = (int(match.group(1)), match.group(2))
    return found


def test_compose_file_uses_the_same_ports_commands_and_files(tmp_path: Path) -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert {"redis", "actions", "rasa", "haproxy", "console"} <= set(services)
    assert {name: port for name, (port, _) in _compose_checks().items()} == {
        "actions": DEFAULT_ACTIONS_PORT, "rasa": DEFAULT_RASA_PORT, "console": DEFAULT_CONSOLE_PORT,
        ENCODER: DEFAULT_ENCODER_PORT}
    assert _compose_checks()[ENCODER][1] == ENCODER_HEALTH
    assert services["haproxy"]["ports"] == [f"{DEFAULT_RASA_PORT}:{DEFAULT_RASA_PORT}"]
    assert services["console"]["ports"] == [f"{DEFAULT_CONSOLE_PORT}:{DEFAULT_CONSOLE_PORT}"]
    stack = _stack_commands(tmp_path)
    for app in MODULES:
        words = _command(services[app])
        assert words[words.index("--port") + 1] == str(PORTS[app]), app
        assert _flags(words) == _flags(stack[app]) | ({"--interface"} if app == "rasa" else set()), app
        if app in LISTENS_ON_ALL:
            assert words[words.index(LISTENS_ON_ALL[app]) + 1] == "0.0.0.0", (app, words)
    assert "deploy" not in services[ENCODER] and "ports" not in services[ENCODER], "one encoder per host, inside"
    for app in ENCODES:  # they start once the encoder answers, so they never load the models themselves
        assert services[app]["depends_on"][ENCODER] == {"condition": "service_healthy"}, app
        assert services[app]["environment"][ENV_ENCODER_URL] == ENCODER_URL, app
    build = compose["x-canyu"]["build"]
    assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == DEPLOY / "Dockerfile"
    for service in services.values():
        for volume in service.get("volumes", []):
            if volume.startswith("./"):
                assert (DEPLOY / volume.split(":")[0]).is_file(), volume
    haproxy = (DEPLOY / "haproxy.cfg").read_text(encoding="utf-8")
    assert f"bind :{DEFAULT_RASA_PORT}" in haproxy and f"rasa:{DEFAULT_RASA_PORT}" in haproxy
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert "python -m bot.cli train" in dockerfile and f"--port {DEFAULT_RASA_PORT}" in dockerfile


def _mebibytes(quantity: str) -> float:
    units = {"Mi": 1.0, "Gi": 1024.0}
    return float(quantity[:-2]) * units[quantity[-2:]]


def test_the_encoder_is_one_per_node_and_every_pod_that_encodes_uses_the_one_of_its_node() -> None:
    docs = {(doc["kind"], doc["metadata"]["name"]): doc for _, doc in _documents()}
    assert ("DaemonSet", ENCODER) in docs and ("Deployment", ENCODER) not in docs
    assert docs[("Service", ENCODER)]["spec"]["internalTrafficPolicy"] == "Local"
    pods = dict(_pod_specs())
    encoder = pods[ENCODER]["containers"][0]
    assert "secretRef" not in str(encoder["envFrom"]), "the encoder needs no secret"
    wait_url = f"http://{ENCODER}:{DEFAULT_ENCODER_PORT}{ENCODER_HEALTH}"
    env_maps = {doc["metadata"]["name"]: doc["data"] for (kind, _), doc in docs.items() if kind == "ConfigMap"}
    for app in ENCODES:
        given = [env_maps[ref["configMapRef"]["name"]] for ref in pods[app]["containers"][0]["envFrom"]
                 if "configMapRef" in ref]
        assert any(m.get(ENV_ENCODER_URL) == ENCODER_URL for m in given), f"{app} is not given {ENV_ENCODER_URL}"
        waits = [c for c in pods[app].get("initContainers", []) if wait_url in " ".join(c["command"])]
        assert waits, f"{app} pods must wait for {wait_url} before they start"
        memory = pods[app]["containers"][0]["resources"]
        room = _mebibytes(memory["limits"]["memory"]) - _mebibytes(memory["requests"]["memory"])
        assert room >= _mebibytes(encoder["resources"]["requests"]["memory"]), (
            f"{app}: a pod whose encoder stays away loads the models itself; its limit must leave room for them")


def test_bot_encoder_runs_what_bot_run_and_the_manifests_run(tmp_path: Path) -> None:
    plan = _stack_commands(tmp_path)[ENCODER]
    args = build_parser().parse_args(["encoder"])
    assert (args.host, args.port) == ("127.0.0.1", DEFAULT_ENCODER_PORT)
    words = encoder_command(args)
    assert words[1] == "-m" and words[2:-1] == plan[:-1] and words[-1] == str(DEFAULT_ENCODER_PORT), (words, plan)
    in_container = encoder_command(build_parser().parse_args(["encoder", "--host", "0.0.0.0"]))
    manifest = _command(dict(_containers())[ENCODER])
    compose = _command(yaml.safe_load((DEPLOY / "docker-compose.yml").read_text(encoding="utf-8"))
                       ["services"][ENCODER])
    assert manifest[1:] == compose[1:] == in_container[1:], (manifest, compose, in_container)


def _compose_binary() -> List[str]:
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    v1 = shutil.which("docker-compose")
    return [v1] if v1 else []


@pytest.mark.skipif(not _compose_binary(), reason="Docker Compose is not installed (the YAML parse checks the file)")
def test_docker_compose_config_accepts_the_file(tmp_path: Path) -> None:
    binary = _compose_binary()
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text(encoding="utf-8"))
    if binary[-1] != "compose":  # v1 (Debian's docker-compose 1.29) predates the top-level `name`
        compose.pop("name", None)
    deploy = tmp_path / "deploy"
    deploy.mkdir()
    for name in ("Dockerfile", "endpoints.yml", "haproxy.cfg"):
        shutil.copy(DEPLOY / name, deploy / name)
    shutil.copy(DEPLOY / "env.example", deploy / ".env")  # what the instructions copy
    (deploy / "docker-compose.yml").write_text(yaml.safe_dump(compose), encoding="utf-8")
    checked = subprocess.run(binary + ["-f", str(deploy / "docker-compose.yml"), "config", "-q"], cwd=deploy,
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.skipif(shutil.which("haproxy") is None and not Path("/usr/sbin/haproxy").exists(),
                    reason="HAProxy is not installed (`./canyu setup` as root installs it)")
def test_compose_haproxy_config_is_valid() -> None:
    binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
    checked = subprocess.run([binary, "-c", "-f", str(DEPLOY / "haproxy.cfg")], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_every_health_path_answers_200_on_the_real_servers(assistant: Any) -> None:
    s = assistant.stack.settings
    encoder_health = assistant.stack.children[ENCODER].health_url
    assert encoder_health.endswith(ENCODER_HEALTH)
    base = {DEFAULT_RASA_PORT: assistant.url, DEFAULT_ACTIONS_PORT: f"http://127.0.0.1:{s.actions_port}",
            DEFAULT_CONSOLE_PORT: assistant.console_url,
            DEFAULT_ENCODER_PORT: encoder_health[: -len(ENCODER_HEALTH)]}
    paths: Set[Tuple[int, str]] = set(_compose_checks().values())
    haproxy = re.search(r"option httpchk GET (\S+)", (DEPLOY / "haproxy.cfg").read_text(encoding="utf-8"))
    assert haproxy, "deploy/haproxy.cfg checks no path"
    paths.add((DEFAULT_RASA_PORT, haproxy.group(1)))
    for _app, container in _containers():
        for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
            get = container.get(probe, {}).get("httpGet")
            if get:
                paths.add((get["port"], get["path"]))
    for _app, pod in _pod_specs():  # the init containers that wait for the node's encoder
        for container in pod.get("initContainers", []):
            for port, path in re.findall(r"http://[\w.-]+:(\d+)(/[^'\"\s]*)", " ".join(container["command"])):
                paths.add((int(port), path))
    assert len(paths) >= 5 and (DEFAULT_ENCODER_PORT, ENCODER_HEALTH) in paths, paths
    for port, path in sorted(paths):
        response = requests.get(base[port] + path, timeout=30)
        assert response.status_code == 200, (port, path, response.status_code, response.text[:200])
