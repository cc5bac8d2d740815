"""The deployment files, checked by the platforms' own rules and real linters."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from microblog.config import REQUIRED, SETTINGS, SETTINGS_BY_NAME, Setting
from tests.harness.paths import ROOT, SCHEMAS, VENV_BIN
from tests.harness.processes import skip_or_fail
from tests.paas.support import (
    config_variables,
    gunicorn_settings,
    procfile,
    read_json,
    read_toml,
)

PACKAGE_MANAGER_FILES = ("requirements.txt", "poetry.lock", "uv.lock", "Pipfile.lock")
RELEASE_SCRIPT = "bin/release"
# Works whatever FLASK_APP says (or without it).
MIGRATE_COMMAND = "flask --app microblog db upgrade"
# Keys Fly documents for [http_service]; its schema lets any other key through.
FLY_HTTP_SERVICE_KEYS = frozenset(
    {
        "internal_port",
        "force_https",
        "auto_stop_machines",
        "auto_start_machines",
        "min_machines_running",
        "processes",
        "concurrency",
        "http_options",
        "tls_options",
        "checks",
        "machine_checks",
    }
)
FLY_CHECK_KEYS = frozenset(
    {
        "grace_period",
        "interval",
        "method",
        "timeout",
        "path",
        "protocol",
        "tls_skip_verify",
        "tls_server_name",
        "headers",
    }
)


def check_jsonschema() -> str:
    return str(VENV_BIN / "check-jsonschema")


def tracked_files() -> list[str]:
    result = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        pytest.skip("not a git checkout")
    return result.stdout.splitlines()


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text()
    text = re.sub(r"\\\n", " ", text)
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            pairs.append((word.upper(), rest.strip()))
    return pairs


def dockerfile(instruction: str) -> list[str]:
    return [rest for word, rest in dockerfile_instructions() if word == instruction]


def compose() -> dict[str, Any]:
    data: dict[str, Any] = YAML(typ="safe").load(ROOT / "docker-compose.yml")
    return data


def seconds(value: str | int) -> float:
    """Durations as Fly and compose write them: 25, "25s", "1m30s", "500ms"."""
    if isinstance(value, int):
        return float(value)
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", value)
    if not parts or "".join(n + u for n, u in parts) != value:
        raise ValueError(f"not a duration: {value!r}")
    return sum(float(number) * units[unit] for number, unit in parts)


def graceful_timeout() -> int:
    return int(gunicorn_settings()["graceful_timeout"])


# --- Python version and package files (Heroku's build rules) ---------------


def test_no_runtime_txt_because_the_cloud_native_builder_refuses_it() -> None:
    assert not (ROOT / "runtime.txt").exists()


def test_python_version_file_is_one_minor_version_line() -> None:
    content = (ROOT / ".python-version").read_text()
    assert re.fullmatch(r"3\.(1[0-4])\n?", content), content
    assert content.strip() == f"{sys.version_info.major}.{sys.version_info.minor}"


def test_dockerfile_base_image_has_the_same_python_minor_version() -> None:
    # Build stage and final stage: the same base, so that the venv built in the
    # one finds its interpreter at the same path in the other.
    build, final = dockerfile("FROM")
    base = final
    assert build == f"{base} AS build"
    match = re.fullmatch(r"python:(\d+\.\d+)(?:\.\d+)?-slim(?:-\w+)?", base)
    assert match, base
    assert match.group(1) == (ROOT / ".python-version").read_text().strip()


def test_exactly_one_package_manager_file_and_no_committed_virtualenv() -> None:
    present = [name for name in PACKAGE_MANAGER_FILES if (ROOT / name).exists()]
    assert present == ["requirements.txt"]
    tracked = tracked_files()
    assert not [path for path in tracked if path.split("/")[0] in {"venv", ".venv"}]


# --- Procfile --------------------------------------------------------------


def test_procfile_releases_with_migrations_and_serves_with_gunicorn() -> None:
    processes = procfile()
    assert set(processes) == {"release", "web", "worker"}
    assert processes["release"] == RELEASE_SCRIPT
    release = (ROOT / RELEASE_SCRIPT).read_text()
    assert MIGRATE_COMMAND in release.splitlines()
    # The release phase's files are discarded: it must not build assets.
    assert "translate" not in release and "compress" not in release
    web = processes["web"]
    assert web.startswith("gunicorn --config gunicorn.conf.py ")
    assert "microblog:create_app()" in web
    assert "upgrade" not in web


def test_honcho_check_passes_a_line_without_colon_which_our_check_rejects(
    tmp_path: Path,
) -> None:
    broken = tmp_path / "Procfile"
    broken.write_text("web gunicorn --config gunicorn.conf.py app:app\n")
    honcho = subprocess.run(
        [str(VENV_BIN / "honcho"), "check"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    # The validator's exit status says nothing: the line was silently ignored.
    assert honcho.returncode == 0
    assert "()" in honcho.stdout + honcho.stderr
    with pytest.raises(ValueError, match="line 1"):
        procfile(broken)


# --- Schemas (the real validator) and what they let through ---------------


# Keys that Fly documents but the published fly.toml schema does not know yet
# (tests/schemas/README.md); fly.toml's own tests check them instead.
FLY_KEYS_UNKNOWN_TO_THE_SCHEMA = re.compile(r"^\s*release_command_timeout = .*\n", re.M)


def as_the_schema_knows_it(document: str, folder: Path) -> Path:
    """``document``, less the keys its schema is known to lack."""
    if document != "fly.toml":
        return ROOT / document
    copy = folder / document
    text = (ROOT / document).read_text()
    copy.write_text(FLY_KEYS_UNKNOWN_TO_THE_SCHEMA.sub("", text))
    return copy


@pytest.mark.parametrize(
    ("document", "schema"),
    [
        ("app.json", "heroku-app-json.schema.json"),
        ("fly.toml", "fly.schemastore.json"),
        ("docker-compose.yml", "compose-spec.json"),
    ],
)
def test_deployment_file_is_valid_against_the_platform_schema(
    document: str, schema: str, tmp_path: Path
) -> None:
    schema_file = SCHEMAS / schema
    if not schema_file.is_file():
        skip_or_fail(f"schema {schema} not found beside the repository")
    checked = as_the_schema_knows_it(document, tmp_path)
    result = subprocess.run(
        [check_jsonschema(), "--schemafile", str(schema_file), str(checked)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok -- validation done" in result.stdout


def test_fly_schema_lets_a_typo_through_which_our_check_catches(
    tmp_path: Path,
) -> None:
    schema_file = SCHEMAS / "fly.schemastore.json"
    if not schema_file.is_file():
        skip_or_fail("fly schema not found beside the repository")
    typo = as_the_schema_knows_it("fly.toml", tmp_path)
    typo.write_text(
        typo.read_text().replace("auto_stop_machines", "auto_stop_machine", 1)
    )
    result = subprocess.run(
        [check_jsonschema(), "--schemafile", str(schema_file), str(typo)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    keys = set(tomllib.loads(typo.read_text())["http_service"])
    assert keys - FLY_HTTP_SERVICE_KEYS == {"auto_stop_machine"}


# --- fly.toml ---------------------------------------------------------------


def test_fly_release_timeout_outlasts_the_migration_lock_wait() -> None:
    """A release stuck behind another fails with our message, not Fly's kill."""
    from microblog.ops.migration_lock import WAIT_SECONDS

    timeout = read_toml("fly.toml")["deploy"]["release_command_timeout"]
    minutes = re.fullmatch(r"(\d+)m", timeout)
    assert minutes, timeout
    assert int(minutes.group(1)) * 60 > WAIT_SECONDS


def test_fly_stops_with_sigterm_and_waits_longer_than_gunicorn_drains() -> None:
    fly = read_toml("fly.toml")
    assert fly["kill_signal"] == "SIGTERM"
    assert seconds(fly["kill_timeout"]) >= graceful_timeout()


def test_fly_http_service_uses_known_keys_and_the_images_port() -> None:
    fly = read_toml("fly.toml")
    service = fly["http_service"]
    assert set(service) <= FLY_HTTP_SERVICE_KEYS
    (exposed,) = dockerfile("EXPOSE")
    assert service["internal_port"] == int(exposed) == 8000
    assert fly["env"]["PORT"] == exposed
    assert service["force_https"] is True


def test_fly_health_check_is_plain_http_get_on_healthz() -> None:
    checks = read_toml("fly.toml")["http_service"]["checks"]
    assert checks, "no health check"
    for check in checks:
        assert set(check) <= FLY_CHECK_KEYS
        assert check["path"] == "/healthz"
        assert check["method"] == "GET"
        # Checks do not follow redirects; force_https redirects at the proxy only.
        assert check["protocol"] == "http"


def test_fly_builds_our_dockerfile_and_releases_with_the_procfiles_command() -> None:
    fly = read_toml("fly.toml")
    assert fly["build"] == {"dockerfile": "Dockerfile"}
    assert fly["deploy"]["release_command"] == procfile()["release"]


def test_fly_env_names_only_variables_the_app_reads() -> None:
    assert set(read_toml("fly.toml")["env"]) <= config_variables()


# --- app.json ---------------------------------------------------------------


def test_app_json_env_entries_are_generated_defaulted_or_optional() -> None:
    env = read_json("app.json")["env"]
    assert env["SECRET_KEY"]["generator"] == "secret"
    for name, entry in env.items():
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*", name), name
        assert entry.get("description"), name
        if "generator" not in entry:
            # Heroku requires every entry unless it says otherwise.
            assert entry.get("required") is False, name
    assert set(env) <= config_variables()
    assert "DATABASE_URL" not in env  # the add-on sets it


def app_json_entry(setting: Setting) -> dict[str, Any]:
    """What app.json says of a setting: the table's words, default and rule."""
    if setting.platform == REQUIRED:
        # Heroku makes up a random value when the app is created.
        return {"description": setting.summary(), "generator": "secret"}
    entry: dict[str, Any] = {"description": setting.summary()}
    if setting.default is not None:
        entry["value"] = setting.default
    return entry | {"required": False}


def test_app_json_env_says_what_the_settings_table_says() -> None:
    env = read_json("app.json")["env"]
    for name, entry in env.items():
        setting = SETTINGS_BY_NAME[name]
        assert entry == app_json_entry(setting), name
    required = {setting.name for setting in SETTINGS if setting.platform == REQUIRED}
    assert required <= set(env)


def test_app_json_attaches_postgres_and_migrates_only_in_release() -> None:
    manifest = read_json("app.json")
    plans = [a["plan"] if isinstance(a, dict) else a for a in manifest["addons"]]
    assert any(plan.startswith("heroku-postgresql") for plan in plans)
    # postdeploy runs once, on creation: migrations belong to the release phase.
    assert "upgrade" not in json.dumps(manifest.get("scripts", {}))
    assert manifest["environments"]["test"]["scripts"]["test"]
    assert "healthchecks" not in manifest


def test_app_json_values_pass_the_apps_own_validation() -> None:
    from microblog.config import load_config

    env = {
        name: entry["value"]
        for name, entry in read_json("app.json")["env"].items()
        if "value" in entry
    }
    env.update(
        SECRET_KEY="0" * 64,  # the generator's length
        DATABASE_URL="postgres://user:pw@ec2.example.com:5432/d1",
        DYNO="web.1",
    )
    config = load_config(env)
    assert config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg2://")
    assert "sslmode=require" in config["SQLALCHEMY_DATABASE_URI"]


# --- Dockerfile, entrypoint, compose ----------------------------------------


def test_hadolint_finds_nothing_in_the_dockerfile() -> None:
    hadolint = VENV_BIN / "hadolint"
    if not hadolint.exists():
        skip_or_fail("hadolint not installed (pip install -r requirements-dev.txt)")
    result = subprocess.run(
        [str(hadolint), "--no-color", "Dockerfile"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_dockerfile_runs_exec_form_as_a_non_root_user_without_secrets() -> None:
    for instruction in ("CMD", "ENTRYPOINT"):
        (value,) = dockerfile(instruction)
        assert isinstance(json.loads(value), list), instruction
    # The container serves exactly what the Procfile's web process runs.
    assert json.loads(dockerfile("CMD")[0]) == shlex.split(procfile()["web"])
    (user,) = dockerfile("USER")
    assert user.split(":")[0] not in {"root", "0"}
    assert dockerfile("STOPSIGNAL") == ["SIGTERM"]
    environment = " ".join(dockerfile("ENV") + dockerfile("ARG"))
    assert not re.search(r"SECRET|PASSWORD|DATABASE_URL", environment)


def test_dockerfile_healthcheck_uses_python_not_curl() -> None:
    (healthcheck,) = dockerfile("HEALTHCHECK")
    assert "/healthz" in healthcheck
    assert "curl" not in healthcheck and "wget" not in healthcheck


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_image() -> None:
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    for entry in (".env", ".git", ".venv/", "instance/"):
        assert entry in ignored


def test_entrypoint_ends_by_executing_its_arguments() -> None:
    lines = [
        line.strip()
        for line in (ROOT / "entrypoint.sh").read_text().splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    assert lines[-1] == 'exec "$@"'


def test_entrypoint_runs_the_command_it_is_given_and_refuses_none(
    tmp_path: Path,
) -> None:
    out = str(tmp_path / "out")
    ran = subprocess.run(
        ["./entrypoint.sh", "sh", "-c", 'echo "$RELEASE_COMMAND" > "$0"', out],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "RELEASE_COMMAND": "1"},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    assert (tmp_path / "out").read_text() == "1\n"
    empty = subprocess.run(
        ["./entrypoint.sh"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert empty.returncode != 0
    assert "no command" in empty.stderr


def test_compose_waits_for_a_healthy_database_and_a_finished_migration() -> None:
    services = compose()["services"]
    assert services["db"]["healthcheck"]["test"]
    migrate = services["migrate"]
    assert " ".join(migrate["command"]) == procfile()["release"]
    assert migrate["depends_on"]["db"]["condition"] == "service_healthy"
    web = services["web"]
    assert web["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully"
    )
    assert "command" not in web  # the image's CMD: gunicorn, never migrations
    assert seconds(web["stop_grace_period"]) > graceful_timeout()
    (exposed,) = dockerfile("EXPOSE")
    assert any(port.endswith(f":{exposed}") for port in web["ports"])


def test_compose_takes_secrets_from_dotenv_only() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    services = compose()["services"]
    for name in ("migrate", "web"):
        assert services[name]["env_file"] == ".env"
        assert "SECRET_KEY" not in services[name]["environment"]
    # Every password is interpolated from .env, none written here.
    for match in re.finditer(r"PASSWORD: (.+)", text):
        assert match.group(1).startswith("${"), match.group(0)
    app_env = services["web"]["environment"]
    assert set(app_env) <= config_variables()
