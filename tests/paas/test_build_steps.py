"""The build steps (compiled translations, gzip static files) run at build time
on both Heroku generations, from one script: Cedar's classic buildpack runs
bin/post_compile, Fir's Cloud Native Buildpacks run the inline buildpack that
project.toml declares. Both lead to bin/build."""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path
from typing import Any

from tests.harness.checkout import copy_checkout
from tests.harness.environment import environment
from tests.harness.paths import ROOT
from tests.paas.support import read_toml

# What a fresh clone holds: no build output, nothing local.
STATIC_ASSETS = ("css/app.css",)


def group() -> list[dict[str, Any]]:
    buildpacks: list[dict[str, Any]] = read_toml("project.toml")["io"]["buildpacks"][
        "group"
    ]
    return buildpacks


def inline_buildpack() -> dict[str, Any]:
    inline = [buildpack for buildpack in group() if "script" in buildpack]
    assert len(inline) == 1, inline
    return inline[0]


def fresh_clone(tmp_path: Path) -> Path:
    clone = copy_checkout(tmp_path / "workspace")
    assert not list(clone.rglob("*.mo"))
    return clone


def assert_built(app_dir: Path) -> None:
    """Every catalog compiled and current, every static asset gzipped."""
    stale = subprocess.run(
        [
            "python",
            "-c",
            "from microblog.i18n import catalogs; print(catalogs.stale_catalogs())",
        ],
        cwd=app_dir,
        env=environment(),
        capture_output=True,
        text=True,
        check=True,
    )
    assert stale.stdout.strip() == "[]"
    po_files = sorted(app_dir.glob("microblog/translations/*/LC_MESSAGES/*.po"))
    assert po_files
    for po in po_files:
        assert po.with_suffix(".mo").stat().st_size > 0
    for asset in STATIC_ASSETS:
        assert (app_dir / "microblog" / "static" / f"{asset}.gz").exists()


def test_project_toml_runs_bin_build_between_python_and_the_procfile() -> None:
    with (ROOT / "project.toml").open("rb") as handle:
        descriptor = tomllib.load(handle)
    assert descriptor["_"]["schema-version"] == "0.2"
    ids = [buildpack["id"] for buildpack in group()]
    # Python first (the step needs its packages), the Procfile's processes last.
    assert ids[0] == "heroku/python"
    assert ids[-1] == "heroku/procfile"
    assert ids.index(inline_buildpack()["id"]) == 1
    script = inline_buildpack()["script"]
    assert script["api"] and Path(script["shell"]).exists()
    assert "bin/build" in script["inline"]


def test_the_inline_buildpack_as_the_lifecycle_runs_it_builds_the_app(
    tmp_path: Path,
) -> None:
    clone = fresh_clone(tmp_path)
    # What the platform makes of an inline buildpack: bin/detect always passes,
    # bin/build is the script under its shell, started in the app folder with
    # the CNB_* variables of Buildpack API 0.10; heroku/python's layers put its
    # Python on PATH (here: the test's own environment).
    script = inline_buildpack()["script"]
    buildpack_dir = tmp_path / "buildpack"
    (buildpack_dir / "bin").mkdir(parents=True)
    build = buildpack_dir / "bin" / "build"
    build.write_text(f"#!{script['shell']}\n{script['inline']}\n")
    build.chmod(0o755)
    layers, platform = tmp_path / "layers", tmp_path / "platform"
    layers.mkdir()
    platform.mkdir()
    plan = tmp_path / "plan.toml"
    plan.write_text("")
    subprocess.run(
        [str(build)],
        cwd=clone,
        env=environment(
            CNB_BUILDPACK_DIR=str(buildpack_dir),
            CNB_LAYERS_DIR=str(layers),
            CNB_PLATFORM_DIR=str(platform),
            CNB_BP_PLAN_PATH=str(plan),
        ),
        check=True,
        timeout=120,
    )
    assert_built(clone)


def test_cedars_post_compile_runs_the_same_script(tmp_path: Path) -> None:
    clone = fresh_clone(tmp_path)
    # The classic buildpack runs it from the app folder, like this.
    subprocess.run(
        ["bin/post_compile"], cwd=clone, env=environment(), check=True, timeout=120
    )
    assert_built(clone)
    assert "bin/build" in (ROOT / "bin" / "post_compile").read_text()


def test_the_dockerfile_runs_the_same_script() -> None:
    runs = [
        line
        for line in (ROOT / "Dockerfile").read_text().splitlines()
        if line.startswith("RUN ")
    ]
    assert any(line.split()[-1] == "bin/build" for line in runs), runs
