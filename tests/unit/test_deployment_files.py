"""Lint of the deployment files (docker/): no Docker engine needed, none used.

CI has no Docker engine, so the compose file and the image are never run here. These
tests read them as data instead: docker/compose.yaml is parsed with PyYAML and checked
structurally (references, secrets, KRaft/SASL/ACL settings, published ports, the
commands against the real ``scorecard`` argument parser), the Dockerfile is linted, and
the shell scripts that can run without Docker are run: the image's entrypoint, the
kafka-setup script and the broker's start script in their dry-run modes, and the
health check.

Each check is a small function returning a list of problems, so the negative tests at
the end can feed it a broken snippet and see the problem reported.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from scorecard.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
COMPOSE = DOCKER / "compose.yaml"
AGENCIES_COMPOSE = DOCKER / "compose.agencies.yaml"
DOCKERFILE = DOCKER / "Dockerfile"

# Services that run the scorecard image, and the one allowed to publish a port.
APP_SERVICES = ("ingest", "projector", "board", "desk")
PROXY = "oauth2-proxy"
DESK_PROXY = "desk-proxy"
# Services that open the event store (the board, a read page process, never does).
STORE_SERVICES = ("ingest", "projector", "desk")
SENSITIVE_KEY = re.compile(r"PASSWORD|SECRET|CIPHER_KEY|TOKEN|CREDENTIAL", re.IGNORECASE)
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:[:?+-][^}]*)?\}")
URL_WITH_PASSWORD = re.compile(r"://[^/\s:@]+:[^/\s@]+@")
AGENCY_CODE = re.compile(r"^[a-z0-9-]{2,40}$")

Problems = list[str]
Compose = dict[str, Any]


# ---- loading ---------------------------------------------------------------------------

def load_compose(path: Path = COMPOSE) -> Compose:
    data = yaml.safe_load(path.read_text("utf-8"))  # SafeLoader resolves `<<` merge keys
    assert isinstance(data, dict), f"{path} is not a mapping"
    return data


def services(compose: Compose) -> dict[str, dict[str, Any]]:
    found = compose.get("services") or {}
    assert isinstance(found, dict)
    return found


def environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment as a mapping, from either the mapping or the list form."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        pairs = (item.partition("=") for item in env)
        return {key: value for key, _, value in pairs}
    return {str(key): "" if value is None else str(value) for key, value in env.items()}


def secret_names(service: dict[str, Any]) -> list[str]:
    return [item if isinstance(item, str) else item["source"]
            for item in service.get("secrets") or []]


def interpolation_default(value: str) -> str:
    """``${VAR:-default}`` → ``default`` (the value a lint can see); otherwise unchanged."""
    match = re.fullmatch(r"\$\{[A-Za-z_][A-Za-z0-9_]*:?-([^}]*)\}", value)
    return match.group(1) if match else value


# ---- checks of the compose file ----------------------------------------------------------

def check_images_and_builds(compose: Compose, base: Path) -> Problems:
    problems = []
    for name, service in services(compose).items():
        image, build = service.get("image"), service.get("build")
        if not image and not build:
            problems.append(f"{name}: neither image nor build")
        if image:
            shown = interpolation_default(str(image))
            tag = shown.rpartition("/")[2].partition(":")[2]
            if "@sha256:" not in shown and (not tag or tag == "latest"):
                problems.append(f"{name}: image {image!r} is not pinned to a version tag")
        if build:
            context = base / (build if isinstance(build, str) else build.get("context", "."))
            dockerfile = "Dockerfile" if isinstance(build, str) \
                else build.get("dockerfile", "Dockerfile")
            if not context.is_dir():
                problems.append(f"{name}: build context {context} does not exist")
            elif not (context / dockerfile).is_file():
                problems.append(f"{name}: dockerfile {context / dockerfile} does not exist")
    return problems


def check_depends_on(compose: Compose) -> Problems:
    defined = set(services(compose))
    conditions = {"service_started", "service_healthy", "service_completed_successfully"}
    problems = []
    for name, service in services(compose).items():
        depends = service.get("depends_on") or {}
        entries = {d: {} for d in depends} if isinstance(depends, list) else depends
        for other, spec in entries.items():
            if other not in defined:
                problems.append(f"{name}: depends_on {other!r}, which is not a service")
            condition = (spec or {}).get("condition", "service_started")
            if condition not in conditions:
                problems.append(f"{name}: depends_on {other} with unknown condition {condition}")
            if condition == "service_healthy" and other in defined \
                    and "healthcheck" not in services(compose)[other] \
                    and other not in APP_SERVICES:  # the scorecard image has a HEALTHCHECK
                problems.append(f"{name}: waits for {other} to be healthy; it has no healthcheck")
    return problems


def check_declarations(compose: Compose, base: Path) -> Problems:
    """Every secret, config, named volume and network used is declared at the top."""
    problems = []
    declared = {kind: set((compose.get(kind) or {}).keys())
                for kind in ("secrets", "configs", "volumes", "networks")}
    for name, service in services(compose).items():
        for secret in secret_names(service):
            if secret not in declared["secrets"]:
                problems.append(f"{name}: secret {secret!r} is not declared")
        for config in service.get("configs") or []:
            source = config if isinstance(config, str) else config["source"]
            if source not in declared["configs"]:
                problems.append(f"{name}: config {source!r} is not declared")
        for volume in service.get("volumes") or []:
            source = volume.split(":")[0] if isinstance(volume, str) else volume.get("source")
            if source and not source.startswith((".", "/", "~", "$")) \
                    and source not in declared["volumes"]:
                problems.append(f"{name}: volume {source!r} is not declared")
        networks = service.get("networks") or []
        for network in networks if isinstance(networks, list) else networks.keys():
            if network not in declared["networks"]:
                problems.append(f"{name}: network {network!r} is not declared")
    for kind in ("secrets", "configs"):
        for key, spec in (compose.get(kind) or {}).items():
            if "file" not in (spec or {}):
                problems.append(f"{kind} {key}: only file-based {kind} are expected here")
                continue
            path = base / spec["file"]
            # Real secrets are git-ignored: the repository holds NAME.example instead.
            example = path.with_name(path.name + ".example")
            if not path.exists() and not (kind == "secrets" and example.is_file()):
                problems.append(f"{kind} {key}: neither {path} nor {example} exists")
    return problems


def check_no_literal_secrets(compose: Compose) -> Problems:
    """Values of sensitive keys reference a granted secret file or are interpolated."""
    problems = []
    for name, service in services(compose).items():
        granted = set(secret_names(service))
        for key, value in environment(service).items():
            if URL_WITH_PASSWORD.search(value):
                problems.append(f"{name}: {key} has credentials inline in a URL")
            if not SENSITIVE_KEY.search(key):
                continue
            if key.endswith("_FILE"):
                secret = value.removeprefix("/run/secrets/")
                if not value.startswith("/run/secrets/") or secret not in granted:
                    problems.append(f"{name}: {key} must name a secret granted to the "
                                    f"service (/run/secrets/NAME), not {value!r}")
            elif not INTERPOLATION.fullmatch(value):
                problems.append(f"{name}: {key} has a literal value; use a secret file")
        command = service.get("command") or []
        words = command if isinstance(command, list) else str(command).split()
        for word in words:
            if re.search(r"(password|secret)=", str(word), re.IGNORECASE):
                problems.append(f"{name}: a secret in the command line: {word!r}")
    return problems


def check_published_ports(compose: Compose,
                          allowed: tuple[str, ...] = (PROXY, DESK_PROXY)) -> Problems:
    return [f"{name}: publishes ports {service['ports']} (only {', '.join(allowed)} may)"
            for name, service in services(compose).items()
            if service.get("ports") and name not in allowed]


def check_kafka(compose: Compose) -> Problems:
    """KRaft, SASL/SCRAM for clients, ACLs with StandardAuthorizer, deny by default."""
    kafka = services(compose).get("kafka")
    if kafka is None:
        return ["no kafka service"]
    env = environment(kafka)
    problems = []
    roles = set(env.get("KAFKA_PROCESS_ROLES", "").split(","))
    if not {"broker", "controller"} <= roles:
        problems.append("kafka: KAFKA_PROCESS_ROLES must be broker,controller (KRaft)")
    if not env.get("KAFKA_CONTROLLER_QUORUM_VOTERS"):
        problems.append("kafka: KAFKA_CONTROLLER_QUORUM_VOTERS is not set")
    if not env.get("KAFKA_CONTROLLER_LISTENER_NAMES"):
        problems.append("kafka: KAFKA_CONTROLLER_LISTENER_NAMES is not set")
    if not env.get("CLUSTER_ID"):
        problems.append("kafka: CLUSTER_ID is not set")
    if "ZOOKEEPER" in " ".join(env):
        problems.append("kafka: ZooKeeper settings in a KRaft broker")
    protocols = dict(item.split(":", 1) for item in
                     env.get("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", "").split(",") if item)
    controllers = set(env.get("KAFKA_CONTROLLER_LISTENER_NAMES", "").split(","))
    listeners = dict(item.split("://", 1) for item in
                     env.get("KAFKA_LISTENERS", "").split(",") if "://" in item)
    advertised = [item.split("://", 1)[0] for item in
                  env.get("KAFKA_ADVERTISED_LISTENERS", "").split(",") if "://" in item]
    for listener in advertised:
        if not protocols.get(listener, "").startswith("SASL_"):
            problems.append(f"kafka: client listener {listener} is not SASL "
                            f"({protocols.get(listener, 'no protocol')})")
    for listener, address in listeners.items():
        if not protocols.get(listener, "").startswith("SASL_") and (
                listener not in controllers or not address.startswith(("localhost:",
                                                                        "127.0.0.1:"))):
            problems.append(f"kafka: listener {listener} ({address}) is unauthenticated and "
                            "not the loopback-only controller listener")
    if not advertised:
        problems.append("kafka: no advertised client listener")
    if "SCRAM-SHA-512" not in env.get("KAFKA_SASL_ENABLED_MECHANISMS", "").split(","):
        problems.append("kafka: SCRAM-SHA-512 is not an enabled SASL mechanism")
    if not env.get("KAFKA_AUTHORIZER_CLASS_NAME", "").endswith(".StandardAuthorizer"):
        problems.append("kafka: the authorizer is not StandardAuthorizer (no ACLs)")
    if "User:admin" not in env.get("KAFKA_SUPER_USERS", "").split(";"):
        problems.append("kafka: User:admin is not a super user")
    if env.get("KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND", "false").lower() != "false":
        problems.append("kafka: allow.everyone.if.no.acl.found must be false")
    return problems


def check_app_commands(compose: Compose, parser: argparse.ArgumentParser) -> Problems:
    """The app services' commands are valid ``scorecard`` command lines."""
    known = _subcommands(parser)
    problems = []
    for name in APP_SERVICES:
        service = services(compose).get(name)
        if service is None:
            problems.append(f"no {name} service")
            continue
        command = service.get("command")
        if not isinstance(command, list) or not command or command[0] != "scorecard":
            problems.append(f"{name}: command must be a list starting with 'scorecard'")
            continue
        args = [str(word) for word in command[1:]]
        if args[:1] == ["ingest"] and "ingest" not in known:
            # `scorecard ingest` lands with the Kafka ingest branch; until then only the
            # subcommand is checked. Once the parser knows it, the full parse below applies.
            continue
        error = _parse_error(parser, args)
        if error:
            problems.append(f"{name}: `{' '.join(command)}` does not parse: {error}")
    return problems


def _subcommands(parser: argparse.ArgumentParser) -> set[str]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    return set()


def _parse_error(parser: argparse.ArgumentParser, args: list[str]) -> str | None:
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):
            parser.parse_args(args)
    except SystemExit:
        return stderr.getvalue().strip().splitlines()[-1] if stderr.getvalue() else "error"
    return None


def check_setup_grants(agencies: list[str], commands: str) -> Problems:
    """kafka-setup's ACLs: each agency Write on agency-events only; the ingest principal
    exactly what it consumes and produces."""
    acl_lines = [line for line in commands.splitlines() if "kafka-acls.sh" in line]
    problems = []
    if not agencies:
        problems.append("kafka-setup names no producing agency")
    for agency in agencies:
        if not AGENCY_CODE.match(agency):
            problems.append(f"kafka-setup: {agency!r} is not an agency code")
        mine = [line for line in acl_lines if re.search(rf"User:{re.escape(agency)}(\s|$)", line)]
        writes = [line for line in mine if re.search(
            r"--add --allow-principal \S+ --operation Write --topic agency-events$", line)]
        if len(writes) != 1:
            problems.append(f"kafka-setup: no Write ACL on agency-events for User:{agency}")
        for line in mine:
            if line not in writes:
                problems.append(f"kafka-setup: User:{agency} is granted more than Write on "
                                f"agency-events: {line}")
    for grant in ("--operation Read --topic agency-events",
                  "--operation Read --group scorecard-ingest",
                  "--operation Write --topic agency-events.rejected"):
        if not any("User:scorecard-ingest" in line and line.endswith(grant)
                   for line in acl_lines):
            problems.append(f"kafka-setup: the ingest principal lacks {grant}")
    for line in acl_lines:
        if re.search(r"--producer|--consumer|--operation All|User:\*|--allow-host", line):
            problems.append(f"kafka-setup: over-broad ACL: {line}")
    return problems


def check_env_documented(compose_texts: list[str], env_example: str) -> Problems:
    documented = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", env_example, re.MULTILINE))
    used = {name for text in compose_texts for name in INTERPOLATION.findall(text)}
    return [f"${{{name}}} is used in compose but not documented in docker/.env.example"
            for name in sorted(used - documented)]


def check_dockerfile(text: str) -> Problems:
    problems = []
    lines = _dockerfile_instructions(text)
    args = {}
    for instruction, rest in lines:
        if instruction == "ARG" and "=" in rest:
            key, _, value = rest.partition("=")
            args[key.strip()] = value.strip()
    stages = set()
    froms = [rest for instruction, rest in lines if instruction == "FROM"]
    if not froms:
        problems.append("Dockerfile: no FROM")
    for rest in froms:
        words = rest.split()
        image = re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), m.group(0)), words[0])
        if image in stages:
            continue
        tag = image.rpartition("/")[2].partition(":")[2]
        if "@sha256:" not in image and (not tag or tag == "latest" or "$" in image):
            problems.append(f"Dockerfile: FROM {words[0]} is not pinned to a tag")
        if len(words) >= 3 and words[1].upper() == "AS":
            stages.add(words[2])
    users = [rest.split(":")[0].strip() for instruction, rest in lines if instruction == "USER"]
    if not users or users[-1] in ("root", "0"):
        problems.append("Dockerfile: the final USER is not a non-root user")
    for instruction, rest in lines:
        if instruction == "ADD" and re.search(r"(^|\s)https?://", rest):
            problems.append(f"Dockerfile: ADD from a URL: {rest}")
        if instruction == "RUN" and re.search(r"pip install[^&;]*(\s-e\s|\[dev\])", rest):
            problems.append(f"Dockerfile: editable or dev install: {rest}")
    if not any(instruction == "HEALTHCHECK" for instruction, _ in lines):
        problems.append("Dockerfile: no HEALTHCHECK")
    if not any(instruction == "RUN" and re.search(r"pip install\s+\.(\s|$)", rest)
               for instruction, rest in lines):
        problems.append("Dockerfile: the project is not installed with `pip install .`")
    return problems


def _dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n", " ", text)
    result = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            instruction, _, rest = line.partition(" ")
            result.append((instruction.upper(), rest.strip()))
    return result


# ---- helpers that run the scripts --------------------------------------------------------

def setup_dry_run(agencies: list[str], secrets_dir: Path) -> str:
    for name, value in (("kafka_admin_password", "a1"), ("kafka_ingest_password", "b2")):
        (secrets_dir / name).write_text(value)
    (secrets_dir / "kafka_agency_passwords").write_text(
        "# comment\n" + "".join(f"{agency}:{index}c3\n" for index, agency in
                                 enumerate(agencies)))
    env = dict(os.environ, SETUP_DRY_RUN="1", SECRETS_DIR=str(secrets_dir))
    result = subprocess.run(["bash", str(DOCKER / "kafka" / "setup.sh"), *agencies],
                            env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return result.stdout


needs_bash = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


# ---- the real files ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def compose() -> Compose:
    return load_compose()


def test_compose_services_are_the_planned_ones(compose: Compose) -> None:
    assert set(services(compose)) == {"kafka", "kafka-setup", "postgres", *APP_SERVICES,
                                      PROXY, DESK_PROXY}


def test_every_service_has_a_pinned_image_or_an_existing_build(compose: Compose) -> None:
    assert check_images_and_builds(compose, DOCKER) == []
    # One image for every scorecard command.
    images = {services(compose)[name]["image"] for name in APP_SERVICES}
    assert len(images) == 1


def test_depends_on_names_defined_services(compose: Compose) -> None:
    assert check_depends_on(compose) == []
    ingest = services(compose)["ingest"]["depends_on"]
    assert ingest["kafka-setup"]["condition"] == "service_completed_successfully"
    assert ingest["postgres"]["condition"] == "service_healthy"


def test_secrets_configs_volumes_and_networks_are_declared(compose: Compose) -> None:
    assert check_declarations(compose, DOCKER) == []


def test_no_password_or_key_is_written_in_the_compose_file(compose: Compose) -> None:
    assert check_no_literal_secrets(compose) == []
    for name in STORE_SERVICES:
        env = environment(services(compose)[name])
        assert env["SCORECARD_CIPHER_KEY_FILE"] == "/run/secrets/cipher_key"
        assert env["SCORECARD_EVENT_STORE_FILE"] == "/run/secrets/event_store_url"


def test_the_board_holds_no_event_store_credentials_nor_key(compose: Compose) -> None:
    board = services(compose)["board"]
    env = environment(board)
    assert env["SCORECARD_PAGES"] == "read"
    assert not any(name.startswith(("SCORECARD_EVENT_STORE", "SCORECARD_CIPHER_KEY",
                                    "SCORECARD_KAFKA")) for name in env)
    # its one secret: the read model's key (docs/security.md), not the event store's
    assert board.get("secrets") == ["readmodel_key"]
    assert env["SCORECARD_READMODEL_KEY_FILE"] == "/run/secrets/readmodel_key"
    assert "backend" not in set(board.get("networks") or [])  # it cannot reach PostgreSQL
    assert environment(services(compose)["desk"])["SCORECARD_PAGES"] == "write"


def test_only_the_proxy_publishes_a_port(compose: Compose) -> None:
    assert check_published_ports(compose) == []
    assert services(compose)[PROXY].get("ports")
    assert services(compose)[DESK_PROXY].get("ports")


def test_the_ui_sits_behind_the_proxy_and_the_data_behind_internal_networks(
        compose: Compose) -> None:
    nets = {name: set(service.get("networks") or []) for name, service in
            services(compose).items()}
    declared = compose["networks"]
    assert declared["backend"].get("internal") is True
    assert declared["web"].get("internal") is True
    assert nets["kafka"] == nets["postgres"] == {"backend"}
    assert "backend" not in nets[PROXY] | nets[DESK_PROXY]
    assert nets[PROXY] & nets["board"]  # each proxy reaches its page, and only it
    assert nets[DESK_PROXY] & nets["desk"]
    assert not nets[PROXY] & nets["desk"] and not nets[DESK_PROXY] & nets["board"]
    assert "http://board:8501" in environment(services(compose)[PROXY])[
        "OAUTH2_PROXY_UPSTREAMS"]
    assert "http://desk:8501" in environment(services(compose)[DESK_PROXY])[
        "OAUTH2_PROXY_UPSTREAMS"]


def test_kafka_is_kraft_with_scram_listeners_and_acls(compose: Compose) -> None:
    assert check_kafka(compose) == []


def test_projector_and_ui_share_the_scorecard_home(compose: Compose) -> None:
    def home(name: str) -> set[str]:
        return {v for v in services(compose)[name]["volumes"] if v.endswith(":/var/lib/scorecard")}
    assert home("projector") == home("board") == home("desk") == {
        "scorecard-home:/var/lib/scorecard"}


def test_app_commands_parse_with_the_scorecard_parser(compose: Compose) -> None:
    assert check_app_commands(compose, build_parser()) == []
    assert services(compose)["ingest"]["command"][:2] == ["scorecard", "ingest"]
    assert services(compose)["projector"]["command"] == ["scorecard", "project", "--follow"]


def test_every_compose_variable_is_documented_in_env_example() -> None:
    texts = [COMPOSE.read_text("utf-8"), AGENCIES_COMPOSE.read_text("utf-8")]
    assert check_env_documented(texts, (DOCKER / ".env.example").read_text("utf-8")) == []


def test_the_agencies_override_is_consistent_with_the_base() -> None:
    base, override = load_compose(), load_compose(AGENCIES_COMPOSE)
    merged_secrets = {**base["secrets"], **override["secrets"]}
    merged = {**base, "secrets": merged_secrets,
              "networks": {**base["networks"], **override["networks"]},
              "services": {"kafka": {**base["services"]["kafka"],
                                     **override["services"]["kafka"],
                                     "environment": {**environment(base["services"]["kafka"]),
                                                     **environment(override["services"]["kafka"])}
                                     }}}
    assert check_declarations(merged, DOCKER) == []
    assert check_no_literal_secrets(merged) == []
    assert check_kafka(merged) == []
    assert check_published_ports(override, allowed=("kafka",)) == []
    protocols = environment(override["services"]["kafka"])["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"]
    assert "AGENCIES:SASL_SSL" in protocols


def test_dockerfile_is_pinned_non_root_and_installs_without_dev_extras() -> None:
    assert check_dockerfile(DOCKERFILE.read_text("utf-8")) == []
    text = DOCKERFILE.read_text("utf-8")
    assert "python:3.11" in text
    assert 'VOLUME ["/var/lib/scorecard"]' in text


def test_real_secrets_are_ignored_by_git_and_only_placeholders_are_kept() -> None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    for path in ("docker/secrets/postgres_password", "docker/secrets/cipher_key",
                 "docker/.env", "docker/secrets/kafka_keystore.p12"):
        ignored = subprocess.run(["git", "-C", str(ROOT), "check-ignore", "-q", path])
        assert ignored.returncode == 0, f"{path} is not git-ignored"
    kept = subprocess.run(["git", "-C", str(ROOT), "check-ignore", "-q",
                           "docker/secrets/cipher_key.example"])
    assert kept.returncode == 1
    for example in (DOCKER / "secrets").glob("*.example"):
        assert "REPLACE" in example.read_text("utf-8") or "Placeholder" in \
            example.read_text("utf-8"), f"{example.name} looks like a real secret"


@needs_bash
def test_kafka_setup_grants_each_producing_agency_write_only(compose: Compose,
                                                             tmp_path: Path) -> None:
    agencies = [str(code) for code in services(compose)["kafka-setup"]["command"]]
    assert {"racs", "nspcc-helpline"} <= set(agencies)
    commands = setup_dry_run(agencies, tmp_path)
    assert check_setup_grants(agencies, commands) == []
    assert "--create --if-not-exists --topic agency-events --partitions 6" in commands
    assert "--create --if-not-exists --topic agency-events.rejected" in commands
    for principal in (*agencies, "scorecard-ingest"):
        assert f"--entity-type users --entity-name {principal} --add-config SCRAM-SHA-512=" \
            in commands


@needs_bash
def test_kafka_setup_refuses_an_agency_without_a_password(tmp_path: Path) -> None:
    setup_dry_run(["racs"], tmp_path)
    env = dict(os.environ, SETUP_DRY_RUN="1", SECRETS_DIR=str(tmp_path))
    result = subprocess.run(["bash", str(DOCKER / "kafka" / "setup.sh"), "racs", "grow"],
                            env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert "no password for grow" in result.stderr


@needs_bash
def test_kafka_start_renders_properties_like_the_image_and_keeps_the_password_out(
        compose: Compose, tmp_path: Path) -> None:
    secret = tmp_path / "admin"
    secret.write_text("0123abcd")
    keystore_password = tmp_path / "keystore"
    keystore_password.write_text("s3cret")
    env = {"PATH": os.environ["PATH"], **environment(services(compose)["kafka"]),
           "CLUSTER_ID": "MkU3OEVBNTcwNTJENDM2Qk", "KAFKA_START_DRY_RUN": "1",
           "KAFKA_ADMIN_PASSWORD_FILE": str(secret), "KAFKA_START_RUN_DIR": str(tmp_path / "run"),
           "KAFKA_SSL_KEYSTORE_PASSWORD_FILE": str(keystore_password),
           "KAFKA_LISTENER_NAME_CLIENTS_SCRAM___SHA___512_SASL_X": "y"}
    result = subprocess.run(["bash", str(DOCKER / "kafka" / "start.sh")], env=env,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "process.roles=broker,controller\n" in out
    assert "controller.quorum.voters=1@localhost:9093\n" in out
    assert "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer" in out
    assert "listener.name.clients.scram-sha-512.sasl.x=y\n" in out
    assert "ssl.keystore.password=s3cret\n" in out  # from the *_FILE secret
    assert "0123abcd" not in out  # the admin password is masked in the format command
    assert "--add-scram SCRAM-SHA-512=[name=admin,password=***]" in out
    assert "heap.opts" not in out and "opts=" not in out
    jaas = (tmp_path / "run" / "kafka_server_jaas.conf").read_text()
    assert 'username="admin"' in jaas and 'password="0123abcd";' in jaas
    assert (tmp_path / "run" / "kafka_server_jaas.conf").stat().st_mode & 0o077 == 0


def test_entrypoint_reads_secret_files_into_the_environment(tmp_path: Path) -> None:
    url = tmp_path / "url"
    url.write_text("postgresql://scorecard:pw@postgres:5432/scorecard\n")
    env = {"PATH": os.environ["PATH"], "SCORECARD_EVENT_STORE_FILE": str(url)}
    result = subprocess.run(["sh", str(DOCKER / "entrypoint.sh"), "env"], env=env,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "SCORECARD_EVENT_STORE=postgresql://scorecard:pw@postgres:5432/scorecard" in lines
    assert not any(line.startswith("SCORECARD_EVENT_STORE_FILE=") for line in lines)


def test_entrypoint_refuses_a_value_and_a_file_for_the_same_setting(tmp_path: Path) -> None:
    key = tmp_path / "key"
    key.write_text("abc")
    env = {"PATH": os.environ["PATH"], "SCORECARD_KAFKA_SASL_PASSWORD": "x",
           "SCORECARD_KAFKA_SASL_PASSWORD_FILE": str(key)}
    both = subprocess.run(["sh", str(DOCKER / "entrypoint.sh"), "true"], env=env,
                          capture_output=True, text=True, timeout=30)
    assert both.returncode != 0 and "not both" in both.stderr
    env = {"PATH": os.environ["PATH"],
           "SCORECARD_KAFKA_SASL_PASSWORD_FILE": str(tmp_path / "missing")}
    missing = subprocess.run(["sh", str(DOCKER / "entrypoint.sh"), "true"], env=env,
                             capture_output=True, text=True, timeout=30)
    assert missing.returncode != 0 and "cannot read" in missing.stderr


def test_healthcheck_checks_the_event_store_is_reachable(tmp_path: Path) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        url = tmp_path / "url"
        url.write_text(f"postgresql://u:p@127.0.0.1:{port}/db")
        env = {"PATH": os.environ["PATH"], "SCORECARD_EVENT_STORE_FILE": str(url)}
        up = subprocess.run([sys.executable, str(DOCKER / "healthcheck.py"), "deps"], env=env,
                            capture_output=True, text=True, timeout=30)
    assert up.returncode == 0, up.stdout
    down = subprocess.run([sys.executable, str(DOCKER / "healthcheck.py"), "deps"], env=env,
                          capture_output=True, text=True, timeout=30)
    assert down.returncode == 1 and "not reachable" in down.stdout


# ---- the checks catch what they are for (negative tests) ---------------------------------

BROKEN = """
services:
  ingest:
    command: ["scorecard", "ingest", "--workers", "2"]
    depends_on: [postgress]
    environment:
      POSTGRES_PASSWORD: hunter2
      SCORECARD_EVENT_STORE: postgresql://scorecard:hunter2@postgres/scorecard
      CIPHER_KEY_FILE: /run/secrets/cipher_key
    secrets: [event_store_url]
    volumes: ["home:/var/lib/scorecard"]
    networks: [backend]
    ports: ["8501:8501"]
  projector:
    image: partnership-scorecard
    command: ["scorecard", "project", "--folow"]
  board:
    image: partnership-scorecard:latest
    build: {context: ../nowhere}
    command: ["streamlit", "run", "app.py"]
  kafka:
    image: apache/kafka
    environment:
      KAFKA_PROCESS_ROLES: broker
      KAFKA_LISTENERS: PLAINTEXT://0.0.0.0:9092
      KAFKA_ADVERTISED_LISTENERS: PLAINTEXT://kafka:9092
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: PLAINTEXT:PLAINTEXT
      KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND: "true"
    ports: ["9092:9092"]
networks: {}
"""


@pytest.fixture
def broken() -> Compose:
    data = yaml.safe_load(BROKEN)
    assert isinstance(data, dict)
    return data


def test_a_service_without_image_or_with_unpinned_or_missing_build_is_reported(
        broken: Compose) -> None:
    problems = "\n".join(check_images_and_builds(broken, DOCKER))
    assert "ingest: neither image nor build" in problems
    assert "projector: image 'partnership-scorecard' is not pinned" in problems
    assert "board: image 'partnership-scorecard:latest' is not pinned" in problems
    assert "board: build context" in problems
    assert "kafka: image 'apache/kafka' is not pinned" in problems


def test_an_undefined_dependency_and_undeclared_references_are_reported(
        broken: Compose) -> None:
    assert check_depends_on(broken) == [
        "ingest: depends_on 'postgress', which is not a service"]
    problems = check_declarations(broken, DOCKER)
    assert "ingest: secret 'event_store_url' is not declared" in problems
    assert "ingest: volume 'home' is not declared" in problems
    assert "ingest: network 'backend' is not declared" in problems


def test_literal_passwords_and_ungranted_secret_files_are_reported(broken: Compose) -> None:
    problems = check_no_literal_secrets(broken)
    assert "ingest: POSTGRES_PASSWORD has a literal value; use a secret file" in problems
    assert "ingest: SCORECARD_EVENT_STORE has credentials inline in a URL" in problems
    assert any(p.startswith("ingest: CIPHER_KEY_FILE must name a secret granted")
               for p in problems)
    # Interpolation from the operator's environment is accepted.
    fine = {"services": {"x": {"environment": {"API_TOKEN": "${API_TOKEN:?set it}"}}}}
    assert check_no_literal_secrets(fine) == []


def test_ports_published_by_anything_but_the_proxy_are_reported(broken: Compose) -> None:
    assert sorted(p.split(":")[0] for p in check_published_ports(broken)) == ["ingest", "kafka"]


def test_a_kafka_without_kraft_sasl_or_acls_is_reported(broken: Compose) -> None:
    problems = "\n".join(check_kafka(broken))
    for expected in ("KAFKA_PROCESS_ROLES must be broker,controller",
                     "KAFKA_CONTROLLER_QUORUM_VOTERS is not set",
                     "client listener PLAINTEXT is not SASL",
                     "SCRAM-SHA-512 is not an enabled SASL mechanism",
                     "the authorizer is not StandardAuthorizer",
                     "User:admin is not a super user",
                     "allow.everyone.if.no.acl.found must be false"):
        assert expected in problems
    assert check_kafka({"services": {}}) == ["no kafka service"]


def test_invalid_scorecard_commands_are_reported(broken: Compose) -> None:
    problems = check_app_commands(broken, build_parser())
    assert any(p.startswith("projector: `scorecard project --folow` does not parse")
               for p in problems)
    assert "board: command must be a list starting with 'scorecard'" in problems
    assert "no desk service" in problems
    assert not any(p.startswith("ingest") for p in problems)
    wrong_ui = {"services": {"ingest": {"command": ["scorecard", "ingest"]},
                             "projector": {"command": ["scorecard", "project"]},
                             "board": {"command": ["scorecard", "ui", "--port", "http"]},
                             "desk": {"command": ["scorecard", "ui"]}}}
    assert [p.split(":")[0] for p in check_app_commands(wrong_ui, build_parser())] == [
        "board"]


def test_missing_or_over_broad_acls_are_reported() -> None:
    acls = "/opt/kafka/bin/kafka-acls.sh --bootstrap-server kafka:9092 --command-config x"
    commands = "\n".join([
        f"{acls} --add --allow-principal User:racs --operation Write --topic agency-events",
        f"{acls} --add --allow-principal User:racs --operation Read --topic agency-events",
        f"{acls} --add --allow-principal User:grow --producer --topic agency-events",
        f"{acls} --add --allow-principal User:scorecard-ingest --operation Read "
        "--topic agency-events",
    ])
    problems = "\n".join(check_setup_grants(["racs", "grow", "nspcc-helpline"], commands))
    assert "User:racs is granted more than Write" in problems
    assert "no Write ACL on agency-events for User:nspcc-helpline" in problems
    assert "no Write ACL on agency-events for User:grow" in problems
    assert "over-broad ACL" in problems and "--producer" in problems
    assert "the ingest principal lacks --operation Read --group scorecard-ingest" in problems
    assert "lacks --operation Write --topic agency-events.rejected" in problems


def test_an_undocumented_compose_variable_is_reported() -> None:
    assert check_env_documented(["image: ${NEW_IMAGE:-x:1}", "a: ${DOCUMENTED}"],
                                "# doc\nDOCUMENTED=1\n") == [
        "${NEW_IMAGE} is used in compose but not documented in docker/.env.example"]


def test_an_unpinned_root_dockerfile_fetching_urls_is_reported() -> None:
    problems = check_dockerfile(
        "ARG BASE=python:latest\nFROM $BASE AS build\nFROM build\n"
        "ADD https://example.org/x.tgz /x\nRUN pip install -e '.[dev]'\nUSER root\n")
    assert problems == [
        "Dockerfile: FROM $BASE is not pinned to a tag",
        "Dockerfile: the final USER is not a non-root user",
        "Dockerfile: ADD from a URL: https://example.org/x.tgz /x",
        "Dockerfile: editable or dev install: pip install -e '.[dev]'",
        "Dockerfile: no HEALTHCHECK",
        "Dockerfile: the project is not installed with `pip install .`",
    ]
