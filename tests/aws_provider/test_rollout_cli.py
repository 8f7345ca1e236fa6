"""`rolloutctl rollout ...` as a subprocess against rolloutd on moto (native engine).

The daemon, the Lambda function with versions 1 and 2 and alias `live`, and the helpers come from
test_rollouts.py. Exit statuses are SPEC §7's: 0 success, 3 recoverable (the wait timed out),
4 fatal (the deployment ended Failed or Stopped). The live view needs a terminal, so one test
runs rolloutctl with its stdout on a pseudo-terminal.
"""
import json
import os
import pty
import re
import select
import subprocess
import time
import uuid

from tests.conftest import BIN_DIR

from .test_rollouts import alias_state, daemon, lam, moto_post  # noqa: F401 - fixtures used by name

ROLLOUTCTL = BIN_DIR / "rolloutctl"


def env():
    environ = {k: v for k, v in os.environ.items() if k not in ("ROLLOUT_SOCKET", "ROLLOUT_CONFIG", "NO_COLOR")}
    environ["TERM"] = "xterm"
    return environ


def ctl(daemon, *args, timeout=60):
    return subprocess.run([str(ROLLOUTCTL), "--socket", str(daemon.socket), *map(str, args)],
                          env=env(), capture_output=True, text=True, timeout=timeout)


def deployment_args(lam, *strategy, target="2"):
    return ["--function", lam["name"], "--alias", "live", "--target-version", target, "--strategy", *strategy]


def start(daemon, lam, *strategy, extra=()):
    done = ctl(daemon, "rollout", "start", "--json", *deployment_args(lam, *strategy), *extra)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["deploymentId"]


def test_plan_shows_steps_and_checks(daemon, lam):
    done = ctl(daemon, "rollout", "plan", *deployment_args(lam, "linear", "--percent", "25", "--interval", "2"))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["AT", "(S)", "WEIGHT"]
    assert [line.split() for line in lines[1:5]] == [["0", "25%"], ["2", "50%"], ["4", "75%"], ["6", "100%"]]
    checks = [line for line in lines if line.startswith(("✓", "✗"))]
    assert checks and all(line.startswith("✓") for line in checks), done.stdout
    assert re.search(r"^estimated\s+6 s$", done.stdout, re.M), done.stdout

    bad = ctl(daemon, "rollout", "plan", *deployment_args(lam, "allAtOnce", target="9"))
    assert bad.returncode == 0, bad.stderr  # SPEC §7 gives a plan with a failed check no exit status of its own
    assert any(line.startswith("✗") and "9" in line for line in bad.stdout.splitlines()), bad.stdout

    as_json = ctl(daemon, "rollout", "plan", "--json", *deployment_args(lam, "canary", "--percent", "10", "--interval", "5"))
    assert json.loads(as_json.stdout)["steps"] == [{"atSeconds": 0, "weight": 0.1}, {"atSeconds": 5, "weight": 1}]
    assert alias_state(lam) == ("1", {})


def test_start_then_wait_succeeds(daemon, lam):
    dep = start(daemon, lam, "canary", "--percent", "10", "--interval", "1")
    done = ctl(daemon, "rollout", "wait", dep)
    assert done.returncode == 0, done.stderr
    assert "\r" not in done.stdout and "\x1b[" not in done.stdout  # not a terminal: no redraws
    assert re.search(r"^status\s+Succeeded$", done.stdout, re.M), done.stdout
    assert re.search(r"ShiftApplied\s+InProgress\s+10%", done.stdout), done.stdout
    assert alias_state(lam) == ("2", {})

    as_json = ctl(daemon, "rollout", "wait", "--json", dep)
    assert as_json.returncode == 0, as_json.stderr
    final = json.loads(as_json.stdout)
    assert final["deploymentId"] == dep and final["status"] == "Succeeded" and final["weight"] == 1
    assert "Succeeded" in as_json.stderr  # the events go to stderr with --json

    status = json.loads(ctl(daemon, "rollout", "status", "--json", dep).stdout)
    assert status["status"] == "Succeeded"
    listed = ctl(daemon, "rollout", "list", "--json", "--function", lam["name"])
    assert listed.returncode == 0, listed.stderr
    assert [(d["deploymentId"], d["status"]) for d in json.loads(listed.stdout)["deployments"]] == [(dep, "Succeeded")]
    human = ctl(daemon, "rollout", "list", "--function", lam["name"])
    assert dep in human.stdout and "1 → 2" in human.stdout and "100%" in human.stdout


def test_start_with_wait(daemon, lam):
    done = ctl(daemon, "rollout", "start", "--wait", "--json", *deployment_args(lam, "allAtOnce"))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "Succeeded"  # one document: the final deployment
    assert alias_state(lam) == ("2", {})
    usage = ctl(daemon, "rollout", "start", "--timeout", "5", *deployment_args(lam, "allAtOnce"))
    assert usage.returncode == 2 and "--wait" in usage.stderr


def test_failed_before_traffic_hook_exits_4(moto, daemon, lam):
    hook = lam["make"]("hook-" + uuid.uuid4().hex[:8])
    moto_post(moto, "/moto-api/static/lambda-simple/response",
              {"results": [json.dumps({"status": "Failed"})], "region": "us-east-1"})
    dep = start(daemon, lam, "canary", "--percent", "10", "--interval", "1", extra=("--before-hook", hook))
    done = ctl(daemon, "rollout", "wait", dep)
    assert done.returncode == 4, (done.stdout, done.stderr)
    assert re.search(r"^status\s+Failed$", done.stdout, re.M), done.stdout
    assert f"deployment {dep} ended Failed: HOOK_EXECUTION_FAILURE" in done.stderr
    as_json = ctl(daemon, "rollout", "wait", "--json", dep)
    assert as_json.returncode == 4 and json.loads(as_json.stdout)["status"] == "Failed"
    assert alias_state(lam) == ("1", {})


def test_wait_timeout_exits_3_with_the_deployment(daemon, lam):
    dep = start(daemon, lam, "linear", "--percent", "10", "--interval", "60")
    done = ctl(daemon, "rollout", "wait", "--timeout", "1", dep)
    assert done.returncode == 3, (done.stdout, done.stderr)
    assert "DeadlineExceeded" in done.stderr
    assert re.search(r"^status\s+InProgress$", done.stdout, re.M), done.stdout
    as_json = ctl(daemon, "rollout", "wait", "--timeout", "1", "--json", dep)
    assert as_json.returncode == 3
    error = json.loads(as_json.stdout)["error"]
    assert error["data"]["reason"] == "DeadlineExceeded"
    assert error["data"]["deployment"]["status"] == "InProgress" and error["data"]["deployment"]["weight"] == 0.1

    stopped = ctl(daemon, "rollout", "stop", dep)
    assert stopped.returncode == 0, stopped.stderr
    status = ctl(daemon, "rollout", "status", dep)
    assert status.returncode == 0
    assert re.search(r"^status\s+Stopped$", status.stdout, re.M) and "MANUAL_STOP" in status.stdout, status.stdout
    assert json.loads(ctl(daemon, "rollout", "status", "--json", dep).stdout)["status"] == "Stopped"
    assert ctl(daemon, "rollout", "wait", dep).returncode == 4
    assert alias_state(lam) == ("1", {})


def test_pause_resume_promote(daemon, lam):
    dep = start(daemon, lam, "linear", "--percent", "10", "--interval", "60")
    assert ctl(daemon, "rollout", "pause", dep).returncode == 0
    assert json.loads(ctl(daemon, "rollout", "status", "--json", dep).stdout)["paused"] is True
    assert ctl(daemon, "rollout", "resume", dep).returncode == 0
    promoted = ctl(daemon, "rollout", "promote", "--json", dep)
    assert promoted.returncode == 0 and json.loads(promoted.stdout)["status"] == "Succeeded"
    assert alias_state(lam) == ("2", {})


def run_on_pty(args, timeout=60):
    """Runs rolloutctl with stdout on a pseudo-terminal; returns (exit status, terminal bytes, stderr)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([str(ROLLOUTCTL), *args], stdout=slave, stderr=subprocess.PIPE, env=env())
    os.close(slave)
    output, deadline = b"", time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the last writer closed the terminal
                    break
                if not chunk:
                    break
                output += chunk
            elif proc.poll() is not None:
                break
        status = proc.wait(timeout=10)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    # The terminal turns each "\n" into "\r\n"; undo that so that only the redraws keep their "\r".
    return status, output.decode().replace("\r\n", "\n"), proc.stderr.read().decode()


def test_live_view_on_a_terminal(daemon, lam):
    dep = start(daemon, lam, "linear", "--percent", "50", "--interval", "3")
    status, output, stderr = run_on_pty(["--socket", str(daemon.socket), "rollout", "wait", dep])
    assert status == 0, (output, stderr)
    # The status line: bar, weight, status and the next step with its countdown, redrawn in place.
    assert re.search(r"\[#{10}\.{10}\]\s+50%  InProgress  next step \d\d:\d\d:\d\d \((in \d s|due)\)", output), output
    assert "\r\x1b[K" in output
    assert len(re.findall(r"next step", output)) >= 2, output  # redrawn at least once while waiting
    # Events are printed as lines; the status line is erased before the final rendering.
    assert "ShiftApplied" in output
    final = output.rsplit("\r\x1b[K", 1)[1]
    assert "next step" not in final and re.search(r"^status\s+Succeeded", final, re.M), final
    assert alias_state(lam) == ("2", {})

    # --json on a terminal: no redraws, one JSON document.
    status, output, stderr = run_on_pty(["--socket", str(daemon.socket), "rollout", "wait", "--json", dep])
    assert status == 0 and "\x1b[" not in output and json.loads(output)["status"] == "Succeeded"


class Terminal:
    """The few terminal controls rolloutctl writes (text, "\\n", "\\r", ESC[K, ESC[1A, ESC[J), as
    lines on a screen: enough to tell what a reader sees after each redraw."""

    CONTROL = re.compile(r"\x1b\[(\d*)([A-Za-z])|\r|\n|[^\x1b\r\n]+")

    def __init__(self):
        self.lines, self.row, self.col = [""], 0, 0

    def feed(self, text):
        for match in self.CONTROL.finditer(text):
            token = match.group(0)
            if token == "\n":
                self.row += 1
                self.col = 0
                if self.row == len(self.lines):
                    self.lines.append("")
            elif token == "\r":
                self.col = 0
            elif match.group(2) == "A":
                self.row = max(0, self.row - int(match.group(1) or 1))
            elif match.group(2) == "K":
                self.lines[self.row] = self.lines[self.row][:self.col]
            elif match.group(2) == "J":
                self.lines[self.row] = self.lines[self.row][:self.col]
                del self.lines[self.row + 1:]
            elif match.group(2):
                pass  # styles
            else:
                line = self.lines[self.row].ljust(self.col)
                self.lines[self.row] = line[:self.col] + token + line[self.col + len(token):]
                self.col += len(token)

    @property
    def text(self):
        return "\n".join(self.lines)


def test_live_view_redraws_one_screen_in_place(daemon, lam):
    dep = start(daemon, lam, "linear", "--percent", "25", "--interval", "2")
    status, output, stderr = run_on_pty(["--socket", str(daemon.socket), "rollout", "wait", dep])
    assert status == 0, (output, stderr)
    assert "\x1b[1A\r\x1b[K" in output  # redrawn in place: cursor up, clear the line

    # Replay the output one redraw (an erase run and the new screen) at a time: the reader
    # always sees one whole screen, never two.
    terminal, screens = Terminal(), 0
    for part in re.split(r"(?<!\x1b\[K)(?=\x1b\[1A\r\x1b\[K)", output):
        terminal.feed(part)
        headers = re.findall(r"^deployment\s+" + dep + "$", terminal.text, re.M)
        assert len(headers) <= 1, terminal.text
        if headers:
            screens += 1
            screen = terminal.text
            assert re.search(r"^function\s+" + lam["name"] + ":live$", screen, re.M), screen
            assert re.search(r"^versions\s+1 → 2$", screen, re.M), screen
            assert re.search(r"^step\s+\d/4$", screen, re.M), screen
            assert re.search(r"^weight\s+set \d+%  actual \d+%$", screen, re.M), screen
            assert re.search(r"^hooks\s+", screen, re.M) and re.search(r"^alarms\s+none in ALARM$", screen, re.M), screen
            assert not re.search(r"weight 0\.\d", screen), screen  # shares only as percentages
    assert screens >= 3, output

    # At the end the screen is gone and the final rendering lists each event once.
    final = terminal.text
    assert not re.search(r"^deployment\s", final, re.M) and "next step" not in final, final
    assert re.search(r"^status\s+Succeeded$", final, re.M) and re.search(r"^weight\s+100%$", final, re.M), final
    events = re.findall(r"^(\S+Z)\s+(\w+)\s", final, re.M)
    assert events and len(events) == len(set(events)), final
    assert len([e for e in events if e[1] == "ShiftApplied"]) == 4, final


def test_plain_event_lines_each_once_when_not_a_terminal(daemon, lam):
    dep = start(daemon, lam, "linear", "--percent", "50", "--interval", "1")
    done = ctl(daemon, "rollout", "wait", dep)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if re.match(r"^\S+Z\s", line)]
    assert lines and len(lines) == len(set(lines)), done.stdout
    assert len([line for line in lines if " ShiftApplied " in line]) == 2, done.stdout
    assert not re.search(r"weight 0\.\d", done.stdout), done.stdout


def test_ctrl_c_leaves_the_deployment_running_and_says_how_to_follow_it(daemon, lam):
    import pexpect

    for command in (["rollout", "wait"], ["rollout", "start", "--wait"]):
        if command[-1] == "wait" and len(command) == 2:
            dep = start(daemon, lam, "linear", "--percent", "10", "--interval", "60")
            args = ["--socket", str(daemon.socket), *command, dep]
        else:
            args = ["--socket", str(daemon.socket), *command, *deployment_args(lam, "linear", "--percent", "10", "--interval", "60")]
        child = pexpect.spawn(str(ROLLOUTCTL), args, env=env(), encoding="utf-8", timeout=30, dimensions=(40, 120))
        child.expect(r"next step")
        if len(command) == 3:
            dep = re.search(r"d-[0-9A-Z]{12}", child.before + child.after).group(0)
        child.sendintr()
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 130, child.before
        text = child.before
        assert f"deployment {dep} keeps running" in text, text
        assert f"rolloutctl rollout wait {dep}" in text and f"rolloutctl rollout stop {dep}" in text, text
        assert json.loads(ctl(daemon, "rollout", "status", "--json", dep).stdout)["status"] == "InProgress"
        assert ctl(daemon, "rollout", "stop", dep).returncode == 0


def test_ctrl_c_is_never_lost_whenever_it_comes(daemon, lam):
    """SIGINT at any instant of `rollout wait` (before the wait request is written, right after it,
    later) ends the wait at once. CI once saw a wait ignore a Ctrl-C for 30 s: the client's
    $/cancelRequest went out before the request it cancelled, the daemon dropped it, and the wait
    ran on (RolloutClient.CallCancellation now orders the two)."""
    import signal

    dep = start(daemon, lam, "linear", "--percent", "10", "--interval", "60")
    delays = [0.0, 0.001, 0.005, 0.02, 0.05, 0.1, 0.2, 0.5] * 2
    for delay in delays:
        child = subprocess.Popen(
            [str(ROLLOUTCTL), "--socket", str(daemon.socket), "rollout", "wait", dep],
            env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        time.sleep(delay)
        child.send_signal(signal.SIGINT)
        try:
            out, err = child.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            out, err = child.communicate()
            raise AssertionError(f"SIGINT {delay}s after start was lost: {out!r} {err!r}")
        # A SIGINT before the trap is installed takes the default action (-2); after it, 130
        # with the follow-or-stop message. Either way the process ends.
        assert child.returncode in (130, -signal.SIGINT), (delay, child.returncode, err)
        if child.returncode == 130:
            assert f"deployment {dep} keeps running" in err, err
    assert json.loads(ctl(daemon, "rollout", "status", "--json", dep).stdout)["status"] == "InProgress"
    assert ctl(daemon, "rollout", "stop", dep).returncode == 0
