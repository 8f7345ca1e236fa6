"""The local provider's secrets through the socket: a byte-exact allowlist (SPEC §4.4) and a
secrets.toml that is reloaded when it changes, keeping its last good values while it is invalid
(SPEC §5, sys.health)."""
import os

import pytest

from tests.conftest import Daemon

KELVIN = "prod/API_\u212aEY"  # KELVIN SIGN: canonically equivalent to "prod/API_KEY"


@pytest.fixture
def secrets_daemon():
    d = Daemon()
    text = d.config.read_text()
    d.config.write_text(text.replace(
        'secrets_allowlist = ["demo/token", "app/db"]',
        'secrets_allowlist = ["prod/API_KEY", "caf\\u00e9/token"]',
    ))
    d.start()
    yield d
    code = d.stop()
    assert code == 0, f"rolloutd exited {code}: {d.log.read_text()[-3000:]}"


def write_secrets(daemon, text):
    """Writes secrets.toml the way rotation tools do: a new file renamed over the old one."""
    path = daemon.local_root / "secrets.toml"
    tmp = daemon.local_root / "secrets.toml.new"
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def test_look_alike_names_are_refused(secrets_daemon):
    # The file defines every look-alike, so only the allowlist can refuse them.
    variants = [
        KELVIN,                    # KELVIN SIGN for K
        "prod/api_key",            # case
        "PROD/API_KEY",
        "prod/API_KEY ",           # trailing space
        " prod/API_KEY",
        "prod/API_KEY\t",
        "\uff50\uff52\uff4f\uff44/API_KEY",  # fullwidth "prod"
        "cafe\u0301/token",        # e + COMBINING ACUTE for the listed U+00E9
        "CAF\u00c9/token",
    ]
    lines = ['"prod/API_KEY" = "the-real-key-value"', '"caf\u00e9/token" = "nfc-token-value"']
    lines += [f'"{name}" = "look-alike-value"' for name in variants if "\t" not in name]
    write_secrets(secrets_daemon, "\n".join(lines) + "\n")
    with secrets_daemon.connect() as conn:
        assert conn.result("secret.get", {"name": "prod/API_KEY"})["value"] == "the-real-key-value"
        assert conn.result("secret.get", {"name": "caf\u00e9/token"})["value"] == "nfc-token-value"
        for name in variants:
            err = conn.error("secret.get", {"name": name})
            assert err["code"] == -32010 and err["data"]["reason"] == "ConfigInvalid", repr(name)
            assert "[cloud.local].secrets_allowlist" in err["message"], err["message"]
            assert "-value" not in err["message"], err["message"]
        # The look-alike is shown escaped, so the message tells it from the listed name.
        assert "\\u{212A}" in conn.error("secret.get", {"name": KELVIN})["message"]
    assert "look-alike-value" not in secrets_daemon.log.read_text()
    assert "the-real-key-value" not in secrets_daemon.log.read_text()


def secrets_health(conn):
    health = conn.result("sys.health")
    return health["status"], health["capabilities"]["secrets"]


def test_rotation_malformed_edit_and_recovery(secrets_daemon):
    with secrets_daemon.connect() as conn:
        write_secrets(secrets_daemon, '"prod/API_KEY" = "first-value"\n')
        first = conn.result("secret.get", {"name": "prod/API_KEY"})
        assert first["value"] == "first-value" and first["stale"] is False
        status, secrets = secrets_health(conn)
        assert status == "ok" and secrets["ok"] is True and "lastError" not in secrets

        # Rotation without a restart, by rename and by an in-place rewrite of the same size.
        write_secrets(secrets_daemon, '"prod/API_KEY" = "second-value"\n')
        assert conn.result("secret.get", {"name": "prod/API_KEY"})["value"] == "second-value"
        (secrets_daemon.local_root / "secrets.toml").write_text('"prod/API_KEY" = "third-valu3"\n')
        third = conn.result("secret.get", {"name": "prod/API_KEY"})
        assert third["value"] == "third-valu3" and third["versionId"] != first["versionId"]

        # A malformed edit keeps the last good value, marked stale, and sys.health says why.
        write_secrets(secrets_daemon, '"prod/API_KEY" = "broken-value\nnext = 1\n')
        stale = conn.result("secret.get", {"name": "prod/API_KEY"})
        assert stale["value"] == "third-valu3" and stale["stale"] is True and stale["cached"] is True
        status, secrets = secrets_health(conn)
        assert status == "degraded" and secrets["ok"] is False
        assert "secrets.toml line 1" in secrets["lastError"] and "last good" in secrets["lastError"]
        assert "broken-value" not in secrets["lastError"] and "third-valu3" not in secrets["lastError"]

        # Fixed again: the new values, and healthy.
        write_secrets(secrets_daemon, '"prod/API_KEY" = "fourth-value"\n')
        fixed = conn.result("secret.get", {"name": "prod/API_KEY"})
        assert fixed["value"] == "fourth-value" and fixed["stale"] is False and fixed["cached"] is False
        assert secrets_health(conn)[0] == "ok"
    log = secrets_daemon.log.read_text()
    for value in ["first-value", "second-value", "third-valu3", "broken-value", "fourth-value"]:
        assert value not in log


def test_health_sees_a_malformed_file_before_any_call(secrets_daemon):
    (secrets_daemon.local_root / "secrets.toml").write_text("not toml at all\n")
    with secrets_daemon.connect() as conn:
        status, secrets = secrets_health(conn)
        assert status == "degraded" and "invalid TOML" in secrets["lastError"]
        assert "no secrets are served" in secrets["lastError"]
        err = conn.error("secret.get", {"name": "prod/API_KEY"})
        assert err["data"]["reason"] == "ConfigInvalid" and "line 1" in err["message"]
