"""SPEC §10: a build without the default `AWS` trait has only the local provider, links no
libcurl, and refuses `provider = "aws"` with the rebuild instruction."""
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRATCH = REPO / ".build-noaws"


def test_build_without_aws_trait(tmp_path):
    build = subprocess.run(
        ["swift", "build", "--disable-default-traits", "--product", "rolloutd", "--scratch-path", str(SCRATCH)],
        cwd=REPO, capture_output=True, text=True, timeout=1800,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    binary = SCRATCH / "debug" / "rolloutd"
    libraries = subprocess.run(["ldd", str(binary)], capture_output=True, text=True).stdout
    assert "libcurl" not in libraries
    assert "libsqlite3" in libraries
    config = tmp_path / "aws.toml"
    config.write_text(f'[server]\nsocket = "{tmp_path}/s.sock"\nstate_dir = "{tmp_path}/state"\n'
                      '[cloud]\nprovider = "aws"\nregion = "us-east-1"\n')
    run = subprocess.run([str(binary), "--config", str(config)], capture_output=True, text=True, timeout=30)
    assert run.returncode != 0
    assert "swift build --traits AWS" in run.stderr and "cloud.provider" in run.stderr
    # The same binary serves the local provider.
    local = tmp_path / "local.toml"
    local.write_text(f'[server]\nsocket = "{tmp_path}/l.sock"\nstate_dir = "{tmp_path}/state2"\n'
                     f'file_roots = ["{tmp_path}/files"]\n[cloud.local]\nroot = "{tmp_path}/local"\n')
    proc = subprocess.Popen([str(binary), "--config", str(local)], stderr=subprocess.PIPE, text=True)
    try:
        for line in proc.stderr:
            if '"msg":"ready"' in line:
                break
    finally:
        proc.terminate()
        assert proc.wait(timeout=30) == 0
