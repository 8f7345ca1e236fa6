"""deploy/systemd: the units agree with deploy/rollout.toml and with how the daemon takes an
inherited socket, `systemd-analyze verify` accepts them, `systemd-analyze security` rates the
sandbox, and the sysusers/tmpfiles snippets create what the units need (in a temp root).

systemd is not PID 1 on the test machines, so the units are not started here; socket activation
itself is run with systemd-socket-activate in test_socket_activation.py.
"""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .support import ROLLOUTD, SYSTEMD, rollout_config, seconds, systemd_unit, unit_value

ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze not installed (Debian package systemd)")


@pytest.fixture(scope="module")
def service():
    return systemd_unit(SYSTEMD / "rolloutd.service")


@pytest.fixture(scope="module")
def socket_unit():
    return systemd_unit(SYSTEMD / "rolloutd.socket")


def test_socket_unit_matches_the_config_and_the_daemon(socket_unit):
    server = rollout_config()["server"]
    listens = {k: v for k, v in socket_unit["Socket"].items() if k.startswith("Listen")}
    # The daemon takes exactly fd 3 (SD_LISTEN_FDS_START) when LISTEN_FDS >= 1.
    assert listens == {"ListenStream": [server["socket"]]}, listens
    assert unit_value(socket_unit, "Socket", "Accept") in (None, "no", "false"), "one daemon, not one per connection"
    # An inherited socket keeps systemd's mode; [server].socket_mode only applies to a bound one.
    assert int(unit_value(socket_unit, "Socket", "SocketMode"), 8) == int(server["socket_mode"], 8)
    assert unit_value(socket_unit, "Install", "WantedBy") == "sockets.target"


def test_service_runs_the_daemon_on_the_deploy_config(service, socket_unit):
    server = rollout_config()["server"]
    exec_start = unit_value(service, "Service", "ExecStart").split()
    assert os.path.basename(exec_start[0]) == "rolloutd"
    assert exec_start[exec_start.index("--config") + 1] == "/etc/rolloutd/rollout.toml"
    assert "rolloutd.socket" in unit_value(service, "Unit", "Requires").split()
    assert "rolloutd.socket" in unit_value(service, "Unit", "After").split()
    # Graceful stop: SIGTERM, and systemd waits longer than the daemon's grace.
    assert unit_value(service, "Service", "KillSignal") in (None, "SIGTERM")
    assert seconds(unit_value(service, "Service", "TimeoutStopSec")) > server["shutdown_grace_secs"]
    assert unit_value(service, "Service", "Restart") == "on-failure"
    # The directories systemd creates are the config's.
    runtime = unit_value(service, "Service", "RuntimeDirectory")
    assert f"/run/{runtime}" == os.path.dirname(server["socket"])
    assert unit_value(service, "Service", "RuntimeDirectoryPreserve") == "yes", \
        "the socket unit's socket lives in RuntimeDirectory; removing it on stop breaks activation"
    assert f"/var/lib/{unit_value(service, 'Service', 'StateDirectory')}" == server["state_dir"]
    assert set(server["file_roots"]) <= set(unit_value(service, "Service", "ReadWritePaths").split())
    # The socket's owner is the service's user, so socket_mode 0660 means the same as in the pod.
    user = unit_value(service, "Service", "User")
    assert user and unit_value(socket_unit, "Socket", "SocketUser") == user
    assert unit_value(socket_unit, "Socket", "SocketGroup") == unit_value(service, "Service", "Group")


def test_service_is_hardened(service):
    expected = {
        "NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
        "PrivateDevices": "yes", "ProtectKernelTunables": "yes", "ProtectKernelModules": "yes",
        "ProtectControlGroups": "yes", "RestrictNamespaces": "yes", "RestrictSUIDSGID": "yes",
        "LockPersonality": "yes", "MemoryDenyWriteExecute": "yes", "CapabilityBoundingSet": "",
        "SystemCallArchitectures": "native",
    }
    for key, value in expected.items():
        assert unit_value(service, "Service", key) == value, f"{key}={unit_value(service, 'Service', key)}"
    assert set(unit_value(service, "Service", "RestrictAddressFamilies").split()) == {"AF_UNIX", "AF_INET", "AF_INET6"}
    assert service["Service"]["SystemCallFilter"][0] == "@system-service"
    assert unit_value(service, "Service", "DynamicUser") == "yes" or unit_value(service, "Service", "User") not in (None, "root")
    # PrivateUsers=yes would make every client's SO_PEERCRED uid the overflow uid.
    assert unit_value(service, "Service", "PrivateUsers") in (None, "no")


def unit_copies(tmp_path):
    """The units with ExecStart pointing at the built daemon (verify needs the binary)."""
    for name in ("rolloutd.service", "rolloutd.socket"):
        text = (SYSTEMD / name).read_text().replace("/usr/local/bin/rolloutd", str(ROLLOUTD))
        (tmp_path / name).write_text(text)
    assert str(ROLLOUTD) in (tmp_path / "rolloutd.service").read_text()
    return [str(tmp_path / "rolloutd.socket"), str(tmp_path / "rolloutd.service")]


@needs_analyze
def test_systemd_analyze_verify(tmp_path):
    units = unit_copies(tmp_path)
    run = subprocess.run([ANALYZE, "verify", "--man=no", *units], capture_output=True, text=True, timeout=120)
    # verify exits 0 on many problems (unknown keys are "ignored"): any output is a finding.
    assert run.returncode == 0 and not (run.stdout + run.stderr).strip(), run.stdout + run.stderr
    # ...and it does find them: a misspelled key in a copy is reported.
    broken = Path(units[1])
    broken.write_text(broken.read_text().replace("ProtectHome=", "ProtectHomes="))
    bad = subprocess.run([ANALYZE, "verify", "--man=no", *units], capture_output=True, text=True, timeout=120)
    assert "ProtectHomes" in bad.stdout + bad.stderr


@needs_analyze
def test_systemd_analyze_security_rates_the_sandbox(tmp_path):
    units = unit_copies(tmp_path)
    # --threshold is the exposure level x 10: fail above 2.0 ("OK" is below 4.0).
    run = subprocess.run([ANALYZE, "security", "--offline=yes", "--threshold=20", "--no-pager", units[1]],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr


@pytest.mark.skipif(shutil.which("systemd-sysusers") is None or shutil.which("systemd-tmpfiles") is None,
                    reason="systemd-sysusers/systemd-tmpfiles not installed (Debian package systemd)")
def test_sysusers_and_tmpfiles_create_what_the_units_need(tmp_path, service):
    if os.geteuid() != 0:
        pytest.skip("systemd-tmpfiles --root needs root to chown inside the temp root")
    (tmp_path / "etc").mkdir()
    subprocess.run(["systemd-sysusers", f"--root={tmp_path}", str(SYSTEMD / "rolloutd.sysusers")],
                   check=True, capture_output=True, timeout=60)
    users = {line.split(":")[0]: line.split(":") for line in (tmp_path / "etc/passwd").read_text().splitlines()}
    groups = {line.split(":")[0]: line.split(":") for line in (tmp_path / "etc/group").read_text().splitlines()}
    user, group = unit_value(service, "Service", "User"), unit_value(service, "Service", "Group")
    assert user in users and group in groups
    assert users[user][6] == "/usr/sbin/nologin"
    subprocess.run(["systemd-tmpfiles", f"--root={tmp_path}", "--create", str(SYSTEMD / "rolloutd.tmpfiles")],
                   check=True, capture_output=True, timeout=60)
    for root in rollout_config()["server"]["file_roots"]:
        made = (tmp_path / root.lstrip("/")).stat()
        assert made.st_uid == int(users[user][2]) and made.st_gid == int(groups[group][2])
        assert made.st_mode & 0o7777 == 0o2770, oct(made.st_mode)
