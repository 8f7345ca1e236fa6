"""SPEC §1, §4.3: `autoExtend` leases are journaled in the state database, so a daemon started
after a crash releases at once the messages the dead daemon's connections held, instead of
leaving them invisible until their visibility timeout lapses."""
import signal
import time

from tests.conftest import Daemon


def receive_within(conn, seconds):
    """Receives until a message arrives or `seconds` pass; returns (messages, elapsed)."""
    started = time.monotonic()
    while True:
        left = seconds - (time.monotonic() - started)
        if left <= 0:
            return [], time.monotonic() - started
        got = conn.result("queue.receive", {"max": 10, "waitSeconds": max(1, min(20, int(left))), "visibilitySeconds": 60})
        if got["messages"]:
            return got["messages"], time.monotonic() - started


def test_restart_after_sigkill_releases_auto_extended_messages_at_once():
    d = Daemon().start()
    try:
        with d.connect() as c:
            c.result("queue.send", {"body": "leased"})
            c.result("queue.send", {"body": "plain"})
            c.result("queue.send", {"body": "acked"})
        holder = d.connect()
        leased = holder.result("queue.receive", {"max": 1, "visibilitySeconds": 120, "autoExtend": True})["messages"]
        plain = holder.result("queue.receive", {"max": 1, "visibilitySeconds": 120})["messages"]
        acked = holder.result("queue.receive", {"max": 1, "visibilitySeconds": 120, "autoExtend": True})["messages"]
        assert [m["body"] for m in leased + plain + acked] == ["leased", "plain", "acked"]
        holder.result("queue.ack", {"receipt": acked[0]["receipt"]})
        d.stop(signal.SIGKILL)
        holder.close()

        d.start()
        with d.connect() as c:
            messages, elapsed = receive_within(c, 3)
            # Released at startup: well before the 120 s visibility timeout.
            assert [m["messageId"] for m in messages] == [leased[0]["messageId"]], d.log.read_text()[-2000:]
            assert messages[0]["receiveCount"] == 2
            assert elapsed < 3
            # A message received without autoExtend keeps its visibility timeout; an acked one stays gone.
            assert c.result("queue.receive", {"max": 10, "waitSeconds": 1})["messages"] == []
        assert "released the messages leased before a restart" in d.log.read_text()
    finally:
        code = d.stop()
    assert code == 0, d.log.read_text()[-3000:]


def test_journal_is_cleared_after_the_startup_release():
    d = Daemon().start()
    try:
        with d.connect() as c:
            c.result("queue.send", {"body": "once"})
        holder = d.connect()
        msg = holder.result("queue.receive", {"visibilitySeconds": 120, "autoExtend": True})["messages"][0]
        d.stop(signal.SIGKILL)
        holder.close()
        d.start()
        with d.connect() as c:
            got, _ = receive_within(c, 3)
            assert [m["messageId"] for m in got] == [msg["messageId"]]
        # The second restart finds nothing to release: the message received after the first
        # restart (without autoExtend) stays invisible.
        d.stop(signal.SIGKILL)
        d.start()
        with d.connect() as c:
            assert c.result("queue.receive", {"max": 10, "waitSeconds": 1})["messages"] == []
    finally:
        code = d.stop()
    assert code == 0, d.log.read_text()[-3000:]
