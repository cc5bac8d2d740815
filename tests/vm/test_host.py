"""Host hardening from provision.sh, checked by the real tools: sshd -t and ufw."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.harness.paths import DEPLOY
from tests.harness.processes import require_program, run_checked, skip_or_fail
from tests.vm.support import provision_function

DROPIN = DEPLOY / "ssh" / "00-microblog-hardening.conf"
STOCK_SSHD_CONFIG = Path("/etc/ssh/sshd_config")
# What cloud-init or Raspberry Pi Imager may leave behind to allow passwords.
PERMISSIVE_DROPIN = "PasswordAuthentication yes\nPermitRootLogin yes\n"


def require_root(tool: str) -> None:
    if os.geteuid() != 0:
        skip_or_fail(
            f"{tool} checks need root (they read host keys and firewall state)"
        )


def sshd_config(folder: Path) -> Path:
    """The packaged sshd_config (or a bare one) reading our drop-in folder."""
    dropins = folder / "sshd_config.d"
    dropins.mkdir()
    (dropins / DROPIN.name).write_text(DROPIN.read_text())
    (dropins / "50-cloud-init.conf").write_text(PERMISSIVE_DROPIN)
    host_key = folder / "ssh_host_ed25519_key"
    run_checked(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(host_key)])
    base = STOCK_SSHD_CONFIG.read_text() if STOCK_SSHD_CONFIG.exists() else ""
    include = "Include /etc/ssh/sshd_config.d/*.conf"
    if include in base:
        base = base.replace(include, f"Include {dropins}/*.conf")
    else:
        base = f"Include {dropins}/*.conf\n{base}"
    config = folder / "sshd_config"
    config.write_text(f"{base}\nHostKey {host_key}\n")
    return config


@pytest.fixture
def sshd() -> str:
    program = require_program("sshd", "openssh-server")
    require_root("sshd")
    # The privilege-separation folder the package's service normally creates.
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    return program


def test_sshd_accepts_the_dropin(sshd: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [sshd, "-t", "-f", str(sshd_config(tmp_path))],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout + result.stderr == ""


def test_dropin_wins_over_a_later_file_that_allows_passwords(
    sshd: str, tmp_path: Path
) -> None:
    effective = run_checked([sshd, "-T", "-f", str(sshd_config(tmp_path))])
    settings = dict(
        line.split(" ", 1) for line in effective.splitlines() if " " in line
    )
    assert settings["permitrootlogin"] == "no"
    assert settings["passwordauthentication"] == "no"
    assert settings["kbdinteractiveauthentication"] == "no"
    assert settings["pubkeyauthentication"] == "yes"
    assert settings["authenticationmethods"] == "publickey"
    assert settings["permitemptypasswords"] == "no"
    assert settings["maxauthtries"] == "3"


def firewall_rules() -> list[str]:
    return provision_function("firewall_rules").splitlines()


def test_firewall_rules_open_exactly_ssh_http_and_https() -> None:
    rules = firewall_rules()
    assert [rule.split()[1] for rule in rules] == ["22/tcp", "80/tcp", "443/tcp"]
    assert {rule.split()[0] for rule in rules} <= {"allow", "limit"}


def test_ufw_turns_the_rules_into_exactly_these_ports() -> None:
    ufw = require_program("ufw", "ufw")
    require_root("ufw")
    status = run_checked([ufw, "status"])
    if "inactive" not in status:
        pytest.skip(
            "this host runs its own firewall; --dry-run output would include it"
        )
    ports: set[int] = set()
    for rule in firewall_rules():
        # --dry-run prints the iptables rules it would load and changes nothing.
        output = run_checked([ufw, "--dry-run", *rule.split()])
        accepted = re.findall(r"^-A ufw-user-input .*--dport (\d+)", output, re.M)
        ports.update(int(port) for port in accepted)
    assert ports == {22, 80, 443}


def test_provision_applies_the_rules_after_deny_by_default() -> None:
    dry_run = provision_function("configure_firewall", dry_run=True)
    ufw_lines = [line.strip() for line in dry_run.splitlines() if "+ ufw" in line]
    expected = ["+ ufw default deny incoming", "+ ufw default allow outgoing"]
    expected += [f"+ ufw {rule}" for rule in firewall_rules()]
    expected += ["+ ufw --force enable"]
    assert ufw_lines == expected
