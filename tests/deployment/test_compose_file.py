"""docker-compose.yml, the Dockerfile and docs/deploying.md say what the deployment needs (no Docker engine here)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml

import api.cli

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
DEPLOYING = (ROOT / "docs" / "deploying.md").read_text()


def cli_commands() -> set[str]:
    group = typer.main.get_command(api.cli.app)
    names = set()
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        names.add(name)
        for sub in getattr(command, "commands", {}):
            names.add(f"{name} {sub}")
    return names


def test_the_four_services_are_there() -> None:
    assert set(SERVICES) == {"postgres", "import", "api", "worker"}


def test_postgres_has_a_pinned_major_version_a_named_volume_and_a_health_check() -> None:
    postgres = SERVICES["postgres"]
    assert re.fullmatch(r"postgres:\d+(\.\d+)?", postgres["image"])
    volume = postgres["volumes"][0].split(":")[0]
    assert volume in COMPOSE["volumes"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])


@pytest.mark.parametrize("service", ["import", "api", "worker"])
def test_ledger_services_wait_for_a_healthy_database_and_name_it(service: str) -> None:
    assert SERVICES[service]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert SERVICES[service]["environment"]["TREATY_LEDGER_DATABASE"].startswith("postgresql://")


def test_the_api_starts_after_the_import_has_finished_and_is_health_checked() -> None:
    api_service = SERVICES["api"]
    assert api_service["depends_on"]["import"]["condition"] == "service_completed_successfully"
    assert "/readyz" in " ".join(api_service["healthcheck"]["test"])
    assert int(api_service["command"][api_service["command"].index("--workers") + 1]) > 1


def test_no_secret_is_written_in_the_compose_file() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    for line in text.splitlines():
        if re.search(r"password|secret", line, re.IGNORECASE) and not line.strip().startswith("#"):
            assert re.search(r"\$\{POSTGRES_PASSWORD[:?}]", line) or "$$" in line, line
    for service in SERVICES.values():
        assert service.get("env_file") == ".env"


def test_every_variable_the_compose_file_uses_is_in_env_example() -> None:
    used = set(re.findall(r"\$\{([A-Z_]+)", (ROOT / "docker-compose.yml").read_text()))
    example = (ROOT / ".env.example").read_text()
    defined = set(re.findall(r"^([A-Z_]+)=", example, re.MULTILINE))
    assert used <= defined
    assert ".env" in (ROOT / ".gitignore").read_text().split()


@pytest.mark.parametrize("service", ["import", "api", "worker"])
def test_service_commands_exist_in_the_cli(service: str) -> None:
    command = SERVICES[service]["command"]
    assert command[0] == "treaty-ledger"
    assert command[1] in cli_commands()


def test_the_dockerfile_is_slim_non_root_health_checked_and_without_test_extras() -> None:
    assert re.search(r"^FROM python:3\.\d+(\.\d+)?-slim$", DOCKERFILE, re.MULTILINE)
    assert re.search(r"^USER (?!root)\w+", DOCKERFILE, re.MULTILINE)
    assert "HEALTHCHECK" in DOCKERFILE and "/healthz" in DOCKERFILE
    assert "[test]" not in DOCKERFILE
    cmd = re.search(r"^CMD (\[.*\])$", DOCKERFILE, re.MULTILINE)
    assert cmd is not None
    words = yaml.safe_load(cmd.group(1))
    assert words[0] == "treaty-ledger" and words[1] in cli_commands()


def test_deploying_names_every_service_and_only_commands_that_exist() -> None:
    for service in SERVICES:
        assert f"`{service}`" in DEPLOYING
    shown = re.findall(r"treaty-ledger ((?:keys )?[a-z]+)", DEPLOYING)
    assert shown
    for command in shown:
        assert command in cli_commands(), command
    assert "docker compose up -d --build" in DEPLOYING and "cp .env.example .env" in DEPLOYING
