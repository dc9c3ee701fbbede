"""docker-compose.yml, the Dockerfile, .env.example and docs/deploying.md say what the deployment needs.

No Docker engine runs on development and CI machines: these read the files, and check the
commands the containers run against the command line's own registry of commands.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml

from treaty_ledger.cli.commands import app
from treaty_ledger.store.database import DEFAULT_POOL_SIZE

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_TEXT = (ROOT / "docker-compose.yml").read_text()
COMPOSE: dict[str, Any] = yaml.safe_load(COMPOSE_TEXT)
SERVICES: dict[str, Any] = COMPOSE["services"]
LEDGER_SERVICES = ["setup", "import", "api", "worker"]
AS_API_ROLE = ["import", "api", "worker"]
"""The services that connect as the API role; only the set-up connects as the owner."""
DOCKERFILE = (ROOT / "Dockerfile").read_text()
DOCKERIGNORE = (ROOT / ".dockerignore").read_text().split()
ENV_EXAMPLE = (ROOT / ".env.example").read_text()
DEPLOYING = (ROOT / "docs" / "deploying.md").read_text()

SUBSTITUTION = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<rest>[^}]*)\}")
"""A compose variable substitution, ``${NAME}``, ``${NAME:-default}`` or ``${NAME:?message}``."""


# --- helpers ------------------------------------------------------------------------------------


def cli() -> Any:
    """The click group behind the Typer app (Typer may bundle its own click: duck-typed)."""
    group = typer.main.get_command(app)
    assert is_group(group), "the CLI should be a group of commands"
    return group


def is_group(command: Any) -> bool:
    return isinstance(getattr(command, "commands", None), dict)


def missing_subcommand(words: list[str]) -> str | None:
    """Why ``treaty-ledger WORDS...`` names no command of the CLI, or ``None`` when it does.

    The first word is a command; when that command is a group (``keys``), the next word must be one
    of its commands.
    """
    assert words and words[0] == "treaty-ledger", words
    group = cli()
    path = ["treaty-ledger"]
    for word in words[1:]:
        if not is_group(group):
            return None
        if word not in group.commands:
            return f"{' '.join(path)} has no command {word!r} (it has: {', '.join(sorted(group.commands))})"
        group = group.commands[word]
        path.append(word)
    if is_group(group):
        return f"{' '.join(path)} is a group: a command of it must follow"
    return None


def as_words(command: str | list[str]) -> list[str]:
    return command.split() if isinstance(command, str) else [str(word) for word in command]


def environment_items(service: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """A service's environment, in the map or the list form."""
    environment = service.get("environment") or {}
    if isinstance(environment, dict):
        for key, value in environment.items():
            yield str(key), "" if value is None else str(value)
    else:
        for entry in environment:
            key, _, value = str(entry).partition("=")
            yield key, value


def is_only_a_substitution(value: str) -> bool:
    return SUBSTITUTION.fullmatch(value.strip()) is not None


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined, comments left out."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for line in DOCKERFILE.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.lstrip().startswith("#"):
            continue
        pending += line.rstrip()
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        keyword, _, arguments = pending.strip().partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        pending = ""
    return instructions


def dockerfile(keyword: str) -> list[str]:
    return [arguments for name, arguments in dockerfile_instructions() if name == keyword]


def healthcheck_text(service: dict[str, Any]) -> str:
    test = service["healthcheck"]["test"]
    return " ".join(test) if isinstance(test, list) else str(test)


def env_example_names() -> set[str]:
    return set(re.findall(r"^([A-Za-z_][A-Za-z0-9_]*)=", ENV_EXAMPLE, re.MULTILINE))


def code_in_deploying() -> list[str]:
    """The doc's code: every fenced block and every inline code span."""
    fenced = re.findall(r"^```[a-z]*\n(.*?)^```", DEPLOYING, re.MULTILINE | re.DOTALL)
    prose = re.sub(r"^```[a-z]*\n.*?^```", "", DEPLOYING, flags=re.MULTILINE | re.DOTALL)
    return [*fenced, *re.findall(r"`([^`\n]+)`", prose)]


def ledger_commands_in_deploying() -> list[list[str]]:
    """Every ``treaty-ledger SUBCOMMAND [SUBCOMMAND [SUBCOMMAND]]`` the doc shows, as words (options dropped)."""
    shown = []
    for code in code_in_deploying():
        for match in re.finditer(r"(?<![\w/.-])treaty-ledger((?:[ \t]+[a-z][a-z-]*){1,3})", code):
            shown.append(["treaty-ledger", *match.group(1).split()])
    return shown


def trim_to_command(words: list[str]) -> list[str]:
    """``treaty-ledger keys create`` stays; ``treaty-ledger import data`` loses its argument."""
    group = cli()
    if len(words) > 2 and not is_group(group.commands.get(words[1])):
        return words[:2]
    return words


# --- the compose file ---------------------------------------------------------------------------


def test_compose_runs_postgres_setup_import_api_and_worker() -> None:
    assert set(SERVICES) == {"postgres", "setup", "import", "api", "worker"}


def test_compose_file_is_named_so_the_volume_name_in_the_docs_is_right() -> None:
    removed = set(re.findall(r"docker volume rm (\S+)", DEPLOYING))
    assert removed, "the restore starts from a fresh volume"
    assert removed <= {f"{COMPOSE['name']}_{volume}" for volume in COMPOSE["volumes"]}, removed


def test_postgres_image_is_pinned_to_a_major_version() -> None:
    image = SERVICES["postgres"]["image"]
    assert re.fullmatch(r"postgres:\d+(\.\d+)?(-[a-z0-9.]+)?", image), f"{image}: pin at least the major version"


def test_postgres_keeps_its_data_in_a_named_volume() -> None:
    mounts = SERVICES["postgres"]["volumes"]
    sources = {}
    for mount in mounts:
        if isinstance(mount, dict):
            sources[mount["target"]] = mount["source"]
        else:
            source, target = str(mount).split(":")[:2]
            sources[target] = source
    assert sources.get("/var/lib/postgresql/data") in COMPOSE["volumes"], "the data directory must be a named volume"


def test_postgres_is_health_checked_with_pg_isready() -> None:
    assert "pg_isready" in healthcheck_text(SERVICES["postgres"])


def test_postgres_publishes_no_port() -> None:
    assert "ports" not in SERVICES["postgres"]


def test_the_stack_fits_postgresql_s_default_connection_limit() -> None:
    command = " ".join(as_words(SERVICES["postgres"]["command"]))
    match = re.search(r"max_connections=\$\{POSTGRES_MAX_CONNECTIONS:-(\d+)\}", command)
    assert match, command
    example = re.search(r"^POSTGRES_MAX_CONNECTIONS=(\d+)$", ENV_EXAMPLE, re.MULTILINE)
    assert example
    api = as_words(SERVICES["api"]["command"])
    processes = int(api[api.index("--workers") + 1]) + 3  # the api's workers, the worker, the import, the set-up
    assert processes * DEFAULT_POOL_SIZE < 30 <= int(match.group(1)) == int(example.group(1)) == 100


@pytest.mark.parametrize("service", LEDGER_SERVICES)
def test_ledger_services_wait_for_a_healthy_postgres(service: str) -> None:
    assert SERVICES[service]["depends_on"]["postgres"]["condition"] == "service_healthy"


@pytest.mark.parametrize("service", LEDGER_SERVICES)
def test_ledger_services_reach_postgres_with_the_credentials_of_the_env_file(service: str) -> None:
    environment = dict(environment_items(SERVICES[service]))
    url = environment["TREATY_LEDGER_DATABASE"]
    names = [m.group("name") for m in SUBSTITUTION.finditer(url)]
    user = ["TREATY_LEDGER_API_USER", "TREATY_LEDGER_API_PASSWORD"] if service in AS_API_ROLE else ["POSTGRES_USER", "POSTGRES_PASSWORD"]
    assert names == [*user, "POSTGRES_DB"]
    assert SUBSTITUTION.sub("X", url) == "postgresql://X:X@postgres:5432/X"
    assert SERVICES[service]["env_file"] == ".env"


def test_only_the_setup_connects_as_the_owner_and_it_creates_the_api_role_first() -> None:
    setup = SERVICES["setup"]
    assert as_words(setup["command"])[:4] == ["treaty-ledger", "init", "--api-role", "${TREATY_LEDGER_API_USER:?set TREATY_LEDGER_API_USER in .env}"]
    assert setup["restart"] == "no"
    assert SERVICES["import"]["depends_on"]["setup"]["condition"] == "service_completed_successfully"


def test_api_starts_only_after_the_import_completed_successfully() -> None:
    assert SERVICES["api"]["depends_on"]["import"]["condition"] == "service_completed_successfully"


def test_import_is_one_shot_and_imports_every_shipped_dataset() -> None:
    service = SERVICES["import"]
    words = as_words(service["command"])
    assert words[:2] == ["treaty-ledger", "import"]
    assert sorted(words[2:]) == sorted(f"data/{path.name}" for path in (ROOT / "data").glob("*.yaml"))
    assert service["restart"] == "no"
    assert any(re.fullmatch(r"data/? +(\./)?data/?", copy) for copy in dockerfile("COPY")), "the image must hold data/"


def test_worker_runs_the_projection_and_restarts_unless_stopped() -> None:
    service = SERVICES["worker"]
    assert as_words(service["command"]) == ["treaty-ledger", "project"]
    assert service["restart"] == "unless-stopped"


def test_api_is_health_checked_on_healthz() -> None:
    assert "/healthz" in healthcheck_text(SERVICES["api"])


@pytest.mark.parametrize("service", ["import", "worker"])
def test_services_without_http_turn_the_images_http_health_check_off(service: str) -> None:
    assert SERVICES[service]["healthcheck"] == {"disable": True}


def test_api_listens_on_all_interfaces_on_the_port_it_publishes_and_checks() -> None:
    command = as_words(SERVICES["api"]["command"])
    port = command[command.index("--port") + 1]
    assert command[command.index("--host") + 1] == "0.0.0.0"
    assert int(command[command.index("--workers") + 1]) > 1
    assert [str(mapping).rsplit(":", 1)[1] for mapping in SERVICES["api"]["ports"]] == [port]
    assert f"127.0.0.1:{port}/healthz" in healthcheck_text(SERVICES["api"])
    assert dockerfile("EXPOSE") == [port]


def test_no_secret_is_written_in_the_compose_file() -> None:
    secret_name = re.compile(r"PASSWORD|SECRET|TOKEN|KEY", re.IGNORECASE)
    for name, service in SERVICES.items():
        for key, value in environment_items(service):
            if secret_name.search(key):
                assert is_only_a_substitution(value), f"{name}: {key} must come from .env, as ${{{key}}}"
            masked = SUBSTITUTION.sub("\N{SECTION SIGN}", value)  # each ${...} becomes one sign
            for user_info in re.findall(r"://([^@/]*)@", masked):
                _, has_password, password = user_info.partition(":")
                if has_password:
                    assert password == "\N{SECTION SIGN}", f"{name}: {key} has a literal password"
    # Nowhere else either: with every ${...} masked, no "password: value" or "password=value" is left.
    for line in SUBSTITUTION.sub("\N{SECTION SIGN}", COMPOSE_TEXT).splitlines():
        if line.lstrip().startswith("#"):
            continue
        for match in re.finditer(r"(password|secret)\w*[\"']?\s*[:=]\s*[\"']?([^\s\"',}]+)", line, re.IGNORECASE):
            assert match.group(2) == "\N{SECTION SIGN}", f"a literal secret: {line.strip()}"


def test_every_service_takes_its_settings_from_the_env_file() -> None:
    for name, service in SERVICES.items():
        assert service.get("env_file") == ".env", name


def test_a_missing_database_credential_stops_compose_with_a_message() -> None:
    for match in SUBSTITUTION.finditer(COMPOSE_TEXT):
        if match.group("name") in {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"}:
            assert re.fullmatch(r":\?.+", match.group("rest")), match.group(0)


def test_env_example_defines_every_variable_the_compose_file_uses() -> None:
    used = {match.group("name") for match in SUBSTITUTION.finditer(COMPOSE_TEXT)}
    used |= set(re.findall(r"(?<!\$)\$([A-Za-z_][A-Za-z0-9_]*)", COMPOSE_TEXT))  # $NAME without braces
    assert used, "the compose file uses no variable?"
    assert used <= env_example_names(), f"missing from .env.example: {sorted(used - env_example_names())}"


def test_env_example_tells_to_copy_it_to_env_and_change_the_password() -> None:
    assert "cp .env.example .env" in ENV_EXAMPLE
    assert re.search(r"change the password", ENV_EXAMPLE, re.IGNORECASE)


def test_env_stays_out_of_git_and_out_of_the_image() -> None:
    assert ".env" in (ROOT / ".gitignore").read_text().split()
    assert ".env" in DOCKERIGNORE


RUNS_THE_LEDGER = sorted(name for name, service in SERVICES.items() if as_words(service.get("command") or "-")[0] == "treaty-ledger")


def test_import_api_and_worker_run_the_ledgers_command_line() -> None:
    assert RUNS_THE_LEDGER == sorted(LEDGER_SERVICES)


@pytest.mark.parametrize("service", RUNS_THE_LEDGER)
def test_service_commands_name_commands_the_cli_has(service: str) -> None:
    command = SERVICES[service]["command"]
    problem = missing_subcommand(trim_to_command(as_words(command)))
    assert problem is None, problem


# --- the image ----------------------------------------------------------------------------------


def test_dockerfile_builds_on_a_slim_official_python_pinned_to_a_minor_version() -> None:
    bases = dockerfile("FROM")
    assert bases, "no FROM"
    assert re.fullmatch(r"python:3\.1[1-9](\.\d+)?-slim(-[a-z]+)?", bases[-1].split()[0]), bases[-1]


def test_dockerfile_runs_as_a_user_who_is_not_root() -> None:
    users = dockerfile("USER")
    assert users, "no USER: the container would run as root"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}, users[-1]
    run = " ".join(dockerfile("RUN"))
    assert "useradd" in run or "adduser" in run, "the user must be created"


def test_dockerfile_health_check_calls_healthz_with_the_standard_library() -> None:
    checks = dockerfile("HEALTHCHECK")
    assert len(checks) == 1
    assert "/healthz" in checks[0] and "urllib.request" in checks[0]
    assert "curl" not in checks[0] and "wget" not in checks[0]


def test_dockerfile_installs_the_package_without_the_test_extra() -> None:
    installs = [run for run in dockerfile("RUN") if "pip install" in run]
    assert installs and all(re.search(r"pip install \.(\s|$)", run) for run in installs), installs
    assert "[test]" not in DOCKERFILE and "requirements" not in DOCKERFILE


LAYERS = ("domain", "projections", "store", "api", "cli")
"""The top-level folders the wheel maps under ``treaty_ledger``."""


def test_dockerfile_copies_only_the_package_and_its_data() -> None:
    copied = {copy.split()[0].rstrip("/") for copy in dockerfile("COPY")} | {
        word for copy in dockerfile("COPY") for word in copy.split()[:-1]
    }
    assert {"pyproject.toml", "README.md", *LAYERS, "data"} <= {c.rstrip("/") for c in copied}
    assert {"treaty_ledger/__init__.py", "treaty_ledger/bootstrap.py"} <= copied
    assert not {"tests", ".", "benchmarks"} & {c.rstrip("/") for c in copied}


def test_the_wheel_holds_one_top_level_package_with_every_subpackage(tmp_path: Path) -> None:
    # The image installs with `pip install .`, not in editable mode: a subpackage the setuptools
    # configuration leaves out is missing there, and every container fails. And a wheel that put
    # `api`, `domain`, ... at the top of site-packages would collide with other distributions.
    source = tmp_path / "source"  # a copy, so that the build leaves no build/ folder in the checkout
    shutil.copytree(ROOT, source, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis", "*.db", "*.db-*"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path), str(source)],
                   check=True, capture_output=True, text=True, timeout=300)
    (wheel,) = tmp_path.glob("treaty_ledger-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/", 1)[0] for name in names if not name.split("/", 1)[0].endswith(".dist-info")}
    assert top == {"treaty_ledger"}
    needed = {
        "/".join(("treaty_ledger", *init.parent.relative_to(ROOT).parts, "__init__.py"))
        for layer in LAYERS
        for init in (ROOT / layer).rglob("__init__.py")
    }
    assert needed <= set(names), f"the wheel leaves out {sorted(needed - set(names))}"
    assert {"treaty_ledger/bootstrap.py", "treaty_ledger/py.typed", "treaty_ledger/domain/py.typed"} <= set(names)
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "treaty-ledger = treaty_ledger.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_dockerfile_cmd_serves_the_api_as_compose_does() -> None:
    commands = dockerfile("CMD")
    assert len(commands) == 1
    words = json.loads(commands[0])
    problem = missing_subcommand(trim_to_command(words))
    assert problem is None, problem
    assert words == as_words(SERVICES["api"]["command"])


def test_dockerignore_leaves_out_local_state_caches_and_tests() -> None:
    for pattern in [".venv", ".git", "*.db", "tests", ".pytest_cache", ".mypy_cache", ".hypothesis", "**/__pycache__"]:
        assert pattern in DOCKERIGNORE, pattern


# --- docs/deploying.md ----------------------------------------------------------------------------


def test_deploying_names_every_service() -> None:
    for service in SERVICES:
        assert f"`{service}`" in DEPLOYING, service


def test_deploying_shows_only_ledger_commands_the_cli_has() -> None:
    shown = ledger_commands_in_deploying()
    assert {tuple(trim_to_command(words))[:2] for words in shown} >= {
        ("treaty-ledger", "import"), ("treaty-ledger", "serve"), ("treaty-ledger", "project"),
        ("treaty-ledger", "keys"), ("treaty-ledger", "verify"), ("treaty-ledger", "rebuild"),
    }
    for words in shown:
        problem = missing_subcommand(trim_to_command(words))
        assert problem is None, f"docs/deploying.md shows {' '.join(words)}: {problem}"


def test_deploying_runs_docker_compose_only_on_services_the_file_has() -> None:
    named = []
    for code in code_in_deploying():
        for line in code.splitlines():
            match = re.search(r"docker compose (exec|run|stop|logs|ps|up)\b(.*)", line)
            if not match:
                continue
            arguments = re.sub(r"(-v|--volume|--scale) \S+", "", match.group(2).split("#")[0])
            words = [w for w in arguments.split() if not w.startswith("-")]
            if match.group(1) in {"exec", "run"}:
                named.append(words[0])
            else:
                named.extend(w for w in words if not w.startswith(("'", '"')))
            named.extend(re.findall(r"--scale (\w+)=", line))
    assert {"api", "postgres", "worker"} <= set(named)
    assert set(named) <= set(SERVICES), sorted(set(named) - set(SERVICES))


def test_deploying_starts_creates_keys_backs_up_restores_and_upgrades_as_asked() -> None:
    for expected in [
        "cp .env.example .env",
        "docker compose up -d --build",
        "docker compose up -d --scale api=3",
        "docker compose exec api treaty-ledger keys create --name alice --role writer",
        "Authorization: Bearer $KEY",
        "/v1/treaties/new-start/events",
        "pg_dump",
        "pg_restore",
        "docker compose exec api treaty-ledger verify",
        "treaty-ledger rebuild",
    ]:
        assert expected in DEPLOYING, expected


def test_deploying_tells_how_scaling_gets_past_the_fixed_host_port() -> None:
    assert SERVICES["api"]["ports"], "the story: one api publishes the host port"
    assert "ports:" in DEPLOYING and "load balancer" in DEPLOYING
    assert re.search(r"delete these two\s*#?\s*lines", COMPOSE_TEXT), "the compose file points at it too"
