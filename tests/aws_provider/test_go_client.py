"""The Go client (clients/go): its unit tests, then the client and the example IaC provider
program against real daemons — provider local, and provider aws on moto with a Lambda alias.

Go comes from Debian's golang-go, which `make deps` (and so `make test`) installs. Without it
these tests FAIL rather than skip. The Go build cache and GOPATH live under .build/go-client,
never under $HOME: every go command runs with HOME pointing at a directory that must still
not exist afterwards.
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from ..conftest import REPO, Daemon
from .test_aws_provider import aws_env
from .test_rollouts import AliasWatcher, RolloutDaemon, alias_state, lam, moto_post, never_split  # noqa: F401 (lam is a fixture)

GO_DIR = REPO / "clients" / "go"
GO_HOME = REPO / ".build" / "go-client"


def go_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GO") and k != "CGO_ENABLED"}
    env.update(
        GOCACHE=str(GO_HOME / "cache"), GOPATH=str(GO_HOME / "path"), GOMODCACHE=str(GO_HOME / "path" / "pkg" / "mod"),
        GOFLAGS="-mod=mod", GOPROXY="off", GOSUMDB="off", GOENV="off", GOTOOLCHAIN="local", GO111MODULE="on",
        CGO_ENABLED="0", HOME=str(GO_HOME / "no-home"),
    )
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def go():
    exe = shutil.which("go")
    if exe is None:
        pytest.fail("the Go toolchain is not installed: run `make deps` (make test installs Debian's golang-go)")
    GO_HOME.mkdir(parents=True, exist_ok=True)
    return exe


def run_go(go, *args, timeout=600):
    result = subprocess.run([go, *args], cwd=GO_DIR, env=go_env(), capture_output=True, text=True, timeout=timeout)
    assert not (GO_HOME / "no-home").exists(), "go wrote into $HOME"
    return result


@pytest.fixture(scope="session")
def go_build(go):
    """The example program and the package's test binary, built once."""
    out = Path(tempfile.mkdtemp(prefix="gocl", dir="/tmp"))
    built = run_go(go, "build", "-o", str(out / "rollout-provider-example"), "./cmd/rollout-provider-example")
    assert built.returncode == 0, built.stderr
    compiled = run_go(go, "test", "-c", "-o", str(out / "rolloutd.test"), ".")
    assert compiled.returncode == 0, compiled.stderr
    yield {"example": out / "rollout-provider-example", "test": out / "rolloutd.test"}
    shutil.rmtree(out, ignore_errors=True)


def test_go_unit_tests_vet_and_gofmt(go):
    """`go test ./...` (fake in-process server: out-of-order answers, progress, $/cancelRequest,
    error mapping, every typed wrapper checked against proto-json/rollout.openrpc.json), plus
    `go vet` and gofmt. CI=true must change nothing."""
    tests = run_go(go, "test", "-count=1", "./...")
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "ok  \tgithub.com/rolloutd/rolloutd/clients/go" in tests.stdout, tests.stdout
    # The contract check must run, not skip (it skips only outside a checkout).
    contract = run_go(go, "test", "-count=1", "-v", "-run", "^TestEveryDocumentedMethodHasAWrapper$", ".")
    assert contract.returncode == 0 and "--- PASS: TestEveryDocumentedMethodHasAWrapper" in contract.stdout, \
        contract.stdout + contract.stderr
    vet = run_go(go, "vet", "./...")
    assert vet.returncode == 0, vet.stdout + vet.stderr
    fmt = subprocess.run([str(Path(go).resolve().parent / "gofmt"), "-l", "."], cwd=GO_DIR, capture_output=True, text=True)
    assert fmt.returncode == 0 and fmt.stdout == "", f"not gofmt'd: {fmt.stdout}{fmt.stderr}"
    ci = subprocess.run([go, "test", "-count=1", "-run", "TestOutOfOrder|TestCancel|TestErrorMapping", "."],
                        cwd=GO_DIR, env=go_env(CI="true"), capture_output=True, text=True, timeout=600)
    assert ci.returncode == 0, ci.stdout + ci.stderr


def run_integration(go_build, name, env):
    result = subprocess.run([str(go_build["test"]), "-test.run", f"^{name}$", "-test.v", "-test.count=1"],
                            cwd=GO_DIR, env=dict(go_env(), **env), capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert f"--- PASS: {name} " in output and "--- SKIP" not in output, output
    return output


def test_go_client_against_the_local_daemon(go_build):
    """Ping, health, rpc.discover, out-of-order + cancel + deadline on a real connection,
    64 concurrent calls, idempotent sends, typed errors (rollout.* is Unsupported on local),
    a file upload with progress; object head/list/delete, queue sendBatch/extend/ackBatch,
    secret get/put and compute.hint through their typed wrappers."""
    d = Daemon()
    (d.local_root / "secrets.toml").write_text('"app/db" = "go-client-secret"\n')
    d.start()
    try:
        output = run_integration(go_build, "TestIntegrationLocal", {
            "ROLLOUTD_TEST_SOCKET": str(d.socket), "ROLLOUTD_TEST_FILES": str(d.files),
            "ROLLOUTD_TEST_SECRET": "app/db", "ROLLOUTD_TEST_SECRET_VALUE": "go-client-secret"})
        for sub in ["out_of_order_and_cancel", "typed_errors", "concurrent_calls", "file_upload_with_progress",
                    "objects,_batches,_secrets_and_compute"]:
            assert f"--- PASS: TestIntegrationLocal/{sub} " in output, output
    finally:
        assert d.stop() == 0, d.log.read_text()[-3000:]


@pytest.fixture
def aws_daemon(moto):
    d = RolloutDaemon(aws_env(moto)).start()
    yield d
    if d.proc and d.proc.poll() is None:
        assert d.stop() == 0, d.log.read_text()[-3000:]


def test_go_rollout_methods_against_moto(go_build, aws_daemon, lam):
    """Plan, Start (idempotent, Conflict with activeDeploymentId), Pause/Resume, Promote, Wait
    with progress, List, Get NotFound, bounded waits, Stop (idempotent) — typed, on moto."""
    run_integration(go_build, "TestIntegrationRollout", {
        "ROLLOUTD_TEST_AWS_SOCKET": str(aws_daemon.socket), "ROLLOUTD_TEST_FUNCTION": lam["name"]})
    assert alias_state(lam) == ("1", {})


def example(go_build, daemon, *args, timeout=120):
    env = dict(go_env(), ROLLOUT_SOCKET=str(daemon.socket))
    return subprocess.run([str(go_build["example"]), *args], env=env, capture_output=True, text=True, timeout=timeout)


def deployments(daemon, function):
    with daemon.connect() as c:
        return c.result("rollout.list", {"function": function})["deployments"]


def test_example_canary_succeeds_and_a_retried_apply_does_not_start_twice(go_build, aws_daemon, lam):
    args = ["-function", lam["name"], "-alias", "live", "-target", "2", "-strategy", "canary", "-percent", "10",
            "-interval", "1s"]
    with AliasWatcher(lam) as watcher:
        first = example(go_build, aws_daemon, *args)
        time.sleep(0.2)
    assert first.returncode == 0, first.stdout + first.stderr
    lines = first.stdout.splitlines()
    assert lines[0].startswith("started deployment d-"), first.stdout
    deployment_id = lines[0].split()[2]
    progress = [line for line in lines if "%" in line]
    assert any("ShiftApplied" in line and "10.0%" in line for line in progress), first.stdout
    assert any("Succeeded" in line and "100.0%" in line for line in progress), first.stdout
    assert lines[-1].startswith(f"deployment {deployment_id} Succeeded"), first.stdout
    assert ("1", (("2", 0.1),)) in watcher.seen, watcher.seen
    never_split(watcher.seen, lam)
    assert alias_state(lam) == ("2", {})

    # The same apply again (a retry after a crash, a re-run pipeline): same deployment, no new one.
    again = example(go_build, aws_daemon, *args)
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"deployment {deployment_id} was already started by an earlier apply" in again.stdout, again.stdout
    assert [d["deploymentId"] for d in deployments(aws_daemon, lam["name"])] == [deployment_id]

    # Changed inputs are a new deployment (back to version 1), with -json outputs.
    back = example(go_build, aws_daemon, "-json", *[("1" if a == "2" else a) for a in args])
    assert back.returncode == 0, back.stdout + back.stderr
    outputs = json.loads(back.stdout.splitlines()[-1])
    assert outputs["status"] == "Succeeded" and outputs["toVersion"] == "1" and outputs["replayed"] is False
    assert outputs["idempotencyKey"].startswith("iac-") and outputs["deploymentId"] != deployment_id
    assert "ShiftApplied" in back.stderr
    assert len(deployments(aws_daemon, lam["name"])) == 2
    assert alias_state(lam) == ("1", {})


def test_example_before_traffic_hook_failure_exits_non_zero(moto, go_build, aws_daemon, lam):
    hook = lam["make"]("hook-" + uuid.uuid4().hex[:8])
    moto_post(moto, "/moto-api/static/lambda-simple/response",
              {"results": [json.dumps({"status": "Failed"})], "region": "us-east-1"})
    result = example(go_build, aws_daemon, "-function", lam["name"], "-target", "2", "-strategy", "canary",
                     "-percent", "10", "-interval", "1s", "-before-traffic", hook)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "HOOK_EXECUTION_FAILURE" in result.stderr and "Failed" in result.stderr, result.stderr
    assert "rolled back to version 1" in result.stderr, result.stderr
    assert "started deployment d-" in result.stdout, result.stdout
    assert alias_state(lam) == ("1", {})
    (dep,) = deployments(aws_daemon, lam["name"])
    assert dep["status"] == "Failed" and dep["error"]["code"] == "HOOK_EXECUTION_FAILURE"


def test_example_conflict_is_fatal_and_sigint_stops_when_asked(go_build, aws_daemon, lam):
    env = dict(go_env(), ROLLOUT_SOCKET=str(aws_daemon.socket))
    slow = [str(go_build["example"]), "-function", lam["name"], "-target", "2", "-strategy", "linear",
            "-percent", "10", "-interval", "60s", "-stop-on-interrupt"]
    proc = subprocess.Popen(slow, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first_line = proc.stdout.readline()
        assert first_line.startswith("started deployment d-"), first_line
        deployment_id = first_line.split()[2]
        deadline = time.monotonic() + 30
        while alias_state(lam)[1].get("2") is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert alias_state(lam) == ("1", {"2": 0.1})

        # Another apply with different inputs meets the active deployment: fatal, exit 4.
        other = example(go_build, aws_daemon, "-function", lam["name"], "-target", "2", "-strategy", "allAtOnce")
        assert other.returncode == 4, other.stdout + other.stderr
        assert "Conflict" in other.stderr and deployment_id in other.stderr, other.stderr

        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, out + err
    assert "interrupted" in err and f"deployment {deployment_id} stopped and rolled back" in err, err
    assert alias_state(lam) == ("1", {})
    (dep,) = deployments(aws_daemon, lam["name"])
    assert dep["status"] == "Stopped" and dep["error"]["code"] == "MANUAL_STOP"


def test_another_module_depends_on_the_client_through_a_replace_directive(go, tmp_path):
    """What the README tells a Go user of a checkout: require the module path, replace it with
    the local directory. The program builds offline (GOPROXY=off) and talks to a daemon."""
    app = tmp_path / "app"
    app.mkdir()
    (app / "go.mod").write_text(
        "module example.com/app\n\ngo 1.19\n\n"
        "require github.com/rolloutd/rolloutd/clients/go v0.0.0\n\n"
        f"replace github.com/rolloutd/rolloutd/clients/go => {GO_DIR}\n")
    (app / "main.go").write_text('''package main

import (
	"context"
	"fmt"
	"os"

	rolloutd "github.com/rolloutd/rolloutd/clients/go"
)

func main() {
	ctx := context.Background()
	c, err := rolloutd.Dial(ctx, "") // $ROLLOUT_SOCKET
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	defer c.Close()
	if err := c.Ping(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	hint, err := c.ComputeHint(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	fmt.Println("pong", hint.Provider, hint.CPUs > 0)
}
''')
    built = subprocess.run([go, "build", "-o", str(tmp_path / "app-bin"), "."], cwd=app, env=go_env(),
                           capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr
    assert not (GO_HOME / "no-home").exists(), "go wrote into $HOME"
    d = Daemon().start()
    try:
        run = subprocess.run([str(tmp_path / "app-bin")], env=dict(go_env(), ROLLOUT_SOCKET=str(d.socket)),
                             capture_output=True, text=True, timeout=60)
        assert run.returncode == 0 and run.stdout == "pong local true\n", run.stdout + run.stderr
    finally:
        assert d.stop() == 0, d.log.read_text()[-3000:]
