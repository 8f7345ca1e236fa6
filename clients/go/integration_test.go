package rolloutd

// Tests against a real rolloutd. They run only when the environment names a daemon, as
// tests/aws_provider/test_go_client.py does:
//
//	ROLLOUTD_TEST_SOCKET    socket of a daemon on provider local (TestIntegrationLocal)
//	ROLLOUTD_TEST_FILES     a directory inside that daemon's file_roots
//	ROLLOUTD_TEST_SECRET + ROLLOUTD_TEST_SECRET_VALUE
//	                        an allowlisted secret of that daemon and its value
//	ROLLOUTD_TEST_AWS_SOCKET + ROLLOUTD_TEST_FUNCTION
//	                        a daemon on provider aws (moto) and a function with versions 1
//	                        and 2 and alias "live" on version 1 (TestIntegrationRollout)

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// runID keeps idempotency keys and object keys unique, so the tests can run again on the same daemon.
var runID = fmt.Sprintf("%x", time.Now().UnixNano())

func integrationClient(t *testing.T, env string) *Client {
	t.Helper()
	socket := os.Getenv(env)
	if socket == "" {
		t.Skipf("%s is not set: no daemon to test against", env)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, socket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return c
}

func TestIntegrationLocal(t *testing.T) {
	c := integrationClient(t, "ROLLOUTD_TEST_SOCKET")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	h, err := c.Health(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if h.Provider != "local" || (h.Status != "ok" && h.Status != "degraded") || h.Version == "" || !h.Capabilities.Queue.OK {
		t.Fatalf("health %+v", h)
	}
	if doc, err := c.Discover(ctx); err != nil || !bytes.Contains(doc, []byte(`"rollout.wait"`)) {
		t.Fatalf("rpc.discover: %v", err)
	}

	t.Run("out of order and cancel", func(t *testing.T) {
		// A long poll on the empty queue is in flight while a ping overtakes it.
		pollCtx, cancelPoll := context.WithCancel(ctx)
		polled := make(chan error, 1)
		go func() {
			_, err := c.QueueReceive(pollCtx, ReceiveOptions{WaitSeconds: 20})
			polled <- err
		}()
		time.Sleep(100 * time.Millisecond)
		if err := c.Ping(ctx); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-polled:
			t.Fatalf("the long poll ended before its cancel: %v", err)
		default:
		}
		cancelPoll()
		if err := <-polled; !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled long poll: %v", err)
		}
		// A context deadline: the daemon gets timeoutMs, the call ends as DeadlineExceeded.
		short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancelShort()
		if _, err := c.QueueReceive(short, ReceiveOptions{WaitSeconds: 20}); !errors.Is(err, ErrDeadlineExceeded) || !IsRecoverable(err) {
			t.Fatalf("deadline: %v", err)
		}
		if err := c.Ping(ctx); err != nil {
			t.Fatalf("connection unusable after cancellations: %v", err)
		}
	})

	t.Run("typed errors", func(t *testing.T) {
		_, err := c.Get(ctx, "d-NOSUCHTHING0")
		var e *Error
		if !errors.As(err, &e) || !errors.Is(err, ErrUnsupported) || IsRecoverable(err) ||
			e.Code != CodeUnsupported || e.Kind != KindFatal || e.Reason != "Unsupported" || e.Method != "rollout.get" {
			t.Fatalf("rollout.get on local: %#v", err)
		}
		_, err = c.Start(ctx, StartParams{Function: "fn", Alias: "live", TargetVersion: "2", Strategy: AllAtOnce()},
			WithIdempotencyKey("go-it-start-"+runID))
		if !errors.Is(err, ErrUnsupported) {
			t.Fatalf("rollout.start on local: %v", err)
		}
		if _, err := c.Wait(ctx, "d-1", nil); !errors.Is(err, ErrUnsupported) {
			t.Fatalf("rollout.wait on local: %v", err)
		}
		if _, err := c.ObjectGet(ctx, "go/absent", nil); !errors.Is(err, ErrNotFound) || IsRecoverable(err) {
			t.Fatalf("absent object: %v", err)
		}
		if err := c.Call(ctx, "object.get", map[string]any{"key": 5}, nil); !errors.Is(err, ErrInvalidParams) {
			t.Fatalf("bad params: %v", err)
		}
		if err := c.Call(ctx, "no.such.method", nil, nil); !errors.Is(err, ErrMethodNotFound) {
			t.Fatalf("unknown method: %v", err)
		}
		once := "go/once/" + runID
		if _, err := c.ObjectPutText(ctx, once, "x", &PutOptions{IfNoneMatch: "*"}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.ObjectPutText(ctx, once, "y", &PutOptions{IfNoneMatch: "*"}); !errors.Is(err, ErrPreconditionFailed) {
			t.Fatalf("ifNoneMatch: %v", err)
		}
	})

	t.Run("concurrent calls", func(t *testing.T) {
		const n = 64
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				key := fmt.Sprintf("go/concurrent/%d", i)
				text := fmt.Sprintf("body %d", i)
				switch i % 3 {
				case 0:
					if err := c.Ping(ctx); err != nil {
						t.Error(err)
					}
				case 1:
					if _, err := c.ObjectPutText(ctx, key, text, &PutOptions{ContentType: "text/plain"}); err != nil {
						t.Error(err)
						return
					}
					obj, err := c.ObjectGet(ctx, key, nil)
					if err != nil || string(obj.Data) != text || obj.ContentType != "text/plain" {
						t.Errorf("%s: %v %+v", key, err, obj)
					}
				case 2:
					idem := fmt.Sprintf("go-send-%s-%d", runID, i)
					first, err := c.QueueSend(ctx, text, nil, WithIdempotencyKey(idem))
					if err != nil {
						t.Error(err)
						return
					}
					again, err := c.QueueSend(ctx, text, nil, WithIdempotencyKey(idem))
					if err != nil || again.MessageID != first.MessageID || !again.Replayed || first.Replayed {
						t.Errorf("idempotent send: %v %+v %+v", err, first, again)
					}
				}
			}(i)
		}
		wg.Wait()
		// One message per idempotency key, not two.
		received := 0
		for {
			msgs, err := c.QueueReceive(ctx, ReceiveOptions{Max: 10})
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs) == 0 {
				break
			}
			for _, m := range msgs {
				received++
				if err := c.QueueAck(ctx, m.Receipt); err != nil {
					t.Fatal(err)
				}
			}
		}
		if want := n / 3; received != want {
			t.Fatalf("received %d messages, want %d", received, want)
		}
	})

	t.Run("file upload with progress", func(t *testing.T) {
		dir := os.Getenv("ROLLOUTD_TEST_FILES")
		if dir == "" {
			t.Fatal("ROLLOUTD_TEST_FILES is not set")
		}
		body := bytes.Repeat([]byte("0123456789abcdef"), 256*1024) // 4 MiB
		src := filepath.Join(dir, "go-upload.bin")
		if err := os.WriteFile(src, body, 0o600); err != nil {
			t.Fatal(err)
		}
		var seen []ObjectProgress
		put, err := c.ObjectPutPath(ctx, "go/file.bin", src, nil, WithObjectProgress(func(p ObjectProgress) {
			seen = append(seen, p)
		}))
		if err != nil {
			t.Fatal(err)
		}
		if put.Size != int64(len(body)) || put.ContentID == "" {
			t.Fatalf("put %+v", put)
		}
		if len(seen) == 0 || seen[len(seen)-1].BytesDone != int64(len(body)) {
			t.Fatalf("progress %+v", seen)
		}
		dst := filepath.Join(dir, "go-download.bin")
		got, err := c.ObjectGet(ctx, "go/file.bin", &GetOptions{Path: dst})
		if err != nil || got.Data != nil || got.ContentID != put.ContentID {
			t.Fatalf("get to path: %v %+v", err, got)
		}
		if back, err := os.ReadFile(dst); err != nil || !bytes.Equal(back, body) {
			t.Fatalf("downloaded file differs: %v", err)
		}
		ranged, err := c.ObjectGet(ctx, "go/file.bin", &GetOptions{Range: &ByteRange{Start: 16, End: 31}})
		if err != nil || string(ranged.Data) != "0123456789abcdef" {
			t.Fatalf("range: %v %+v", err, ranged)
		}
	})

	t.Run("objects, batches, secrets and compute", func(t *testing.T) {
		prefix := "go/list/" + runID + "/"
		for i := 0; i < 3; i++ {
			if _, err := c.ObjectPutText(ctx, fmt.Sprintf("%s%d", prefix, i), strings.Repeat("x", i+1), nil); err != nil {
				t.Fatal(err)
			}
		}
		info, err := c.ObjectHead(ctx, prefix+"2")
		if err != nil || info.Key != prefix+"2" || info.Size != 3 || info.ETag == "" || info.ContentID == "" ||
			info.LastModified == nil || info.Metadata == nil {
			t.Fatalf("head: %v %+v", err, info)
		}
		first, err := c.ObjectList(ctx, ListObjectsOptions{Prefix: prefix, Limit: 2})
		if err != nil || len(first.Objects) != 2 || first.Cursor == "" || first.Objects[0].Key != prefix+"0" ||
			first.Objects[1].Size != 2 || first.Objects[0].LastModified.IsZero() {
			t.Fatalf("first page: %v %+v", err, first)
		}
		rest, err := c.ObjectList(ctx, ListObjectsOptions{Prefix: prefix, Limit: 2, Cursor: first.Cursor})
		if err != nil || len(rest.Objects) != 1 || rest.Cursor != "" || rest.Objects[0].Key != prefix+"2" {
			t.Fatalf("last page: %v %+v", err, rest)
		}
		idem := WithIdempotencyKey("go-it-delete-" + runID)
		del, err := c.ObjectDelete(ctx, prefix+"0", idem)
		if err != nil || !del.Deleted || del.Replayed || del.Key != prefix+"0" {
			t.Fatalf("delete: %v %+v", err, del)
		}
		if again, err := c.ObjectDelete(ctx, prefix+"0", idem); err != nil || !again.Replayed {
			t.Fatalf("replayed delete: %v %+v", err, again)
		}
		if _, err := c.ObjectHead(ctx, prefix+"0"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("head after delete: %v", err)
		}

		batch := []OutgoingMessage{{Body: "batch-0"}, {Body: "batch-1", SendOptions: SendOptions{Attributes: map[string]string{"n": "1"}}}, {Body: "batch-2"}}
		sent, err := c.QueueSendBatch(ctx, batch, WithIdempotencyKey("go-it-batch-"+runID))
		if err != nil || len(sent.Results) != 3 || sent.Replayed {
			t.Fatalf("sendBatch: %v %+v", err, sent)
		}
		for i, item := range sent.Results {
			if item.Err() != nil || item.MessageID == "" {
				t.Fatalf("item %d: %+v %v", i, item, item.Err())
			}
		}
		if again, err := c.QueueSendBatch(ctx, batch, WithIdempotencyKey("go-it-batch-"+runID)); err != nil || !again.Replayed ||
			again.Results[2].MessageID != sent.Results[2].MessageID {
			t.Fatalf("replayed sendBatch: %v %+v", err, again)
		}
		msgs, err := c.QueueReceive(ctx, ReceiveOptions{Max: 10, WaitSeconds: 1})
		if err != nil || len(msgs) != 3 {
			t.Fatalf("receive: %v %+v", err, msgs)
		}
		if err := c.QueueExtend(ctx, msgs[0].Receipt, 120); err != nil {
			t.Fatalf("extend: %v", err)
		}
		receipts := make([]string, len(msgs))
		for i, m := range msgs {
			receipts[i] = m.Receipt
		}
		acks, err := c.QueueAckBatch(ctx, receipts)
		if err != nil || len(acks) != 3 {
			t.Fatalf("ackBatch: %v %+v", err, acks)
		}
		for i, a := range acks {
			if a.Receipt != receipts[i] || a.Err() != nil {
				t.Fatalf("ack %d: %+v %v", i, a, a.Err())
			}
		}
		if left, err := c.QueueReceive(ctx, ReceiveOptions{Max: 10}); err != nil || len(left) != 0 {
			t.Fatalf("queue not empty after ackBatch: %v %+v", err, left)
		}

		if name := os.Getenv("ROLLOUTD_TEST_SECRET"); name != "" {
			sec, err := c.SecretGet(ctx, name, nil)
			if err != nil || sec.Name != name || sec.Value != os.Getenv("ROLLOUTD_TEST_SECRET_VALUE") || sec.Binary != nil || sec.Stale {
				t.Fatalf("secret.get: %v %+v", err, sec)
			}
		} else {
			t.Error("ROLLOUTD_TEST_SECRET is not set")
		}
		if _, err := c.SecretGet(ctx, "not/allowlisted", nil); !errors.Is(err, ErrConfigInvalid) || IsRecoverable(err) {
			t.Fatalf("secret.get outside the allowlist: %v", err)
		}
		if err := c.SecretPut(ctx, "demo/token", "x"); !errors.Is(err, ErrReadOnly) || IsRecoverable(err) {
			t.Fatalf("secret.put: %v", err)
		}

		hint, err := c.ComputeHint(ctx)
		if err != nil || hint.Provider != "local" || hint.Source != "local" || hint.CPUs < 1 || hint.MemoryBytes <= 0 {
			t.Fatalf("compute.hint: %v %+v", err, hint)
		}
	})
}

func TestIntegrationRollout(t *testing.T) {
	c := integrationClient(t, "ROLLOUTD_TEST_AWS_SOCKET")
	fn := os.Getenv("ROLLOUTD_TEST_FUNCTION")
	if fn == "" {
		t.Fatal("ROLLOUTD_TEST_FUNCTION is not set")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	slow := StartParams{Function: fn, Alias: "live", TargetVersion: "2", Strategy: Linear(10, 30*time.Second)}

	plan, err := c.Plan(ctx, StartParams{Function: fn, Alias: "live", TargetVersion: "2", Strategy: Canary(10, time.Second)})
	if err != nil || !plan.OK() || len(plan.Steps) != 2 || plan.Steps[0].Weight != 0.1 || plan.EstimatedSeconds != 1 {
		t.Fatalf("plan: %v %+v", err, plan)
	}

	first, err := c.Start(ctx, slow, WithIdempotencyKey("go-it-slow-"+runID))
	if err != nil || first.Status != StatusInProgress || first.Replayed {
		t.Fatalf("start: %v %+v", err, first)
	}
	again, err := c.Start(ctx, slow, WithIdempotencyKey("go-it-slow-"+runID))
	if err != nil || again.DeploymentID != first.DeploymentID || !again.Replayed {
		t.Fatalf("replayed start: %v %+v", err, again)
	}
	_, err = c.Start(ctx, StartParams{Function: fn, Alias: "live", TargetVersion: "2", Strategy: AllAtOnce()})
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, ErrConflict) || e.ActiveDeploymentID != first.DeploymentID {
		t.Fatalf("conflict: %v", err)
	}

	if ref, err := c.Pause(ctx, first.DeploymentID); err != nil || ref.Status != StatusInProgress {
		t.Fatalf("pause: %v %+v", err, ref)
	}
	if d, err := c.Get(ctx, first.DeploymentID); err != nil || !d.Paused || d.NextStepAt != nil {
		t.Fatalf("paused get: %v %+v", err, d)
	}
	if _, err := c.Resume(ctx, first.DeploymentID); err != nil {
		t.Fatal(err)
	}
	d, err := c.Get(ctx, first.DeploymentID)
	if err != nil || d.Paused || d.NextStepAt == nil || !d.NextStepAt.After(d.StartedAt) || d.FromVersion != "1" ||
		d.ToVersion != "2" || d.Strategy.Type != StrategyLinear || d.Engine != "native" || len(d.Events) == 0 {
		t.Fatalf("resumed get: %v %+v", err, d)
	}
	if ref, err := c.Promote(ctx, first.DeploymentID); err != nil || ref.Status != StatusSucceeded {
		t.Fatalf("promote: %v %+v", err, ref)
	}
	done, err := c.Wait(ctx, first.DeploymentID, nil)
	if err != nil || done.Status != StatusSucceeded || done.Weight != 1 || done.CompletedAt == nil || done.Error != nil {
		t.Fatalf("wait after promote: %v %+v", err, done)
	}

	// Back to version 1 with a canary, waiting with progress.
	back := StartParams{Function: fn, Alias: "live", TargetVersion: "1", Strategy: Canary(10, time.Second)}
	started, err := c.Start(ctx, back)
	if err != nil {
		t.Fatal(err)
	}
	var events []RolloutProgress
	final, err := c.Wait(ctx, started.DeploymentID, func(p RolloutProgress) { events = append(events, p) })
	if err != nil || final.Status != StatusSucceeded || final.ToVersion != "1" {
		t.Fatalf("wait: %v %+v", err, final)
	}
	if len(events) == 0 || events[0].Event.Type != "Start" || events[len(events)-1].Status != StatusSucceeded ||
		events[len(events)-1].Weight != 1 || events[0].Event.At.IsZero() {
		t.Fatalf("progress %+v", events)
	}
	shifted := false
	for _, ev := range events {
		shifted = shifted || (ev.Event.Type == "ShiftApplied" && ev.Weight == 0.1)
	}
	if !shifted {
		t.Fatalf("no 10%% shift among %+v", events)
	}

	list, err := c.List(ctx, ListFilter{Function: fn})
	if err != nil || len(list) != 2 || list[0].DeploymentID != started.DeploymentID || list[1].DeploymentID != first.DeploymentID {
		t.Fatalf("list: %v %+v", err, list)
	}
	if only, err := c.List(ctx, ListFilter{Function: fn, Status: StatusStopped}); err != nil || len(only) != 0 {
		t.Fatalf("list stopped: %v %+v", err, only)
	}
	if _, err := c.Get(ctx, "d-NOSUCHTHING0"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get absent: %v", err)
	}

	// A wait bounded by the caller's context, then a stop (idempotent).
	third, err := c.Start(ctx, slow)
	if err != nil {
		t.Fatal(err)
	}
	short, cancelShort := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancelShort()
	if _, err := c.Wait(short, third.DeploymentID, nil); !errors.Is(err, ErrDeadlineExceeded) {
		t.Fatalf("bounded wait: %v", err)
	}
	// The daemon's own wait limit carries the current deployment.
	_, err = c.Wait(ctx, third.DeploymentID, nil, WithParam("timeoutSeconds", 0.3))
	if !errors.As(err, &e) || e.Reason != "DeadlineExceeded" || e.Deployment == nil || e.Deployment.DeploymentID != third.DeploymentID {
		t.Fatalf("daemon wait limit: %v", err)
	}
	stopped, err := c.Stop(ctx, third.DeploymentID, WithIdempotencyKey("go-it-stop-"+runID))
	if err != nil || stopped.Status != StatusStopped {
		t.Fatalf("stop: %v %+v", err, stopped)
	}
	if again, err := c.Stop(ctx, third.DeploymentID, WithIdempotencyKey("go-it-stop-"+runID)); err != nil || !again.Replayed {
		t.Fatalf("replayed stop: %v %+v", err, again)
	}
	d, err = c.Get(ctx, third.DeploymentID)
	if err != nil || d.Status != StatusStopped || !d.RolledBack || d.Error == nil || d.Error.Code != "MANUAL_STOP" {
		t.Fatalf("stopped get: %v %+v", err, d)
	}
	raw, _ := json.Marshal(d)
	if !bytes.Contains(raw, []byte(`"status":"Stopped"`)) {
		t.Fatalf("re-encoding: %s", raw)
	}
}
