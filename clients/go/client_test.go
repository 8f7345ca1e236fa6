package rolloutd

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeServer is an in-process stand-in for rolloutd on a temp Unix socket: every line it
// receives is handed to the test as a fakeMsg, and the test answers however it likes
// (out of order, with progress, never, or by closing the connection).
type fakeServer struct {
	t    *testing.T
	path string
	ln   net.Listener
	msgs chan fakeMsg
}

type fakeMsg struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params"`
	raw     []byte
	conn    *fakeConn
}

func (m fakeMsg) param(name string) json.RawMessage {
	var fields map[string]json.RawMessage
	_ = json.Unmarshal(m.Params, &fields)
	return fields[name]
}

type fakeConn struct {
	mu sync.Mutex
	c  net.Conn
}

func (fc *fakeConn) sendLine(line string) {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	_, _ = fc.c.Write([]byte(line + "\n"))
}

func (fc *fakeConn) send(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	fc.sendLine(string(b))
}

func (m fakeMsg) reply(result any) {
	m.conn.send(map[string]any{"jsonrpc": "2.0", "id": m.ID, "result": result})
}

func (m fakeMsg) fail(code int, message string, data any) {
	e := map[string]any{"code": code, "message": message}
	if data != nil {
		e["data"] = data
	}
	m.conn.send(map[string]any{"jsonrpc": "2.0", "id": m.ID, "error": e})
}

func (m fakeMsg) progress(token json.RawMessage, fields map[string]any) {
	params := map[string]any{"progressToken": token}
	for k, v := range fields {
		params[k] = v
	}
	m.conn.send(map[string]any{"jsonrpc": "2.0", "method": "$/progress", "params": params})
}

func newFakeServer(t *testing.T) *fakeServer {
	t.Helper()
	dir, err := os.MkdirTemp("", "rgo")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "s.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeServer{t: t, path: path, ln: ln, msgs: make(chan fakeMsg, 1024)}
	t.Cleanup(func() {
		ln.Close()
		os.RemoveAll(dir)
	})
	go s.accept()
	return s
}

func (s *fakeServer) accept() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		fc := &fakeConn{c: c}
		go func() {
			defer c.Close()
			r := bufio.NewReader(c)
			for {
				line, err := r.ReadBytes('\n')
				if err != nil {
					return
				}
				var m fakeMsg
				if jerr := json.Unmarshal(line, &m); jerr != nil {
					s.t.Errorf("client sent invalid JSON %q: %v", line, jerr)
					continue
				}
				m.raw, m.conn = line, fc
				s.msgs <- m
			}
		}()
	}
}

// next returns the next message the client sent (generous timeout: only a hang fails).
func (s *fakeServer) next() fakeMsg {
	s.t.Helper()
	select {
	case m := <-s.msgs:
		return m
	case <-time.After(20 * time.Second):
		s.t.Fatal("the fake server received nothing")
		return fakeMsg{}
	}
}

func (s *fakeServer) dial(t *testing.T) *Client {
	t.Helper()
	c, err := Dial(context.Background(), s.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestRequestsAreJSONRPC20Lines(t *testing.T) {
	s := newFakeServer(t)
	c := s.dial(t)
	done := make(chan error, 1)
	go func() {
		_, err := c.Start(context.Background(), StartParams{Function: "fn", Alias: "live", TargetVersion: "2",
			Strategy: Canary(10, 90*time.Second), Hooks: &Hooks{BeforeTraffic: "hook"}}, WithIdempotencyKey("deploy-42"))
		done <- err
	}()
	m := s.next()
	if m.JSONRPC != "2.0" || m.Method != "rollout.start" || !strings.HasSuffix(string(m.raw), "}\n") ||
		strings.Count(string(m.raw), "\n") != 1 {
		t.Fatalf("bad request line %q", m.raw)
	}
	var id uint64
	if err := json.Unmarshal(m.ID, &id); err != nil || id == 0 {
		t.Fatalf("id must be a positive number, got %s", m.ID)
	}
	var p map[string]any
	if err := json.Unmarshal(m.Params, &p); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"function": "fn", "alias": "live", "targetVersion": "2", "idempotencyKey": "deploy-42",
		"strategy": map[string]any{"type": "canary", "percent": 10.0, "intervalSeconds": 90.0},
		"hooks":    map[string]any{"beforeTraffic": "hook"}}
	if fmt.Sprint(p) != fmt.Sprint(want) {
		t.Fatalf("params %v, want %v", p, want)
	}
	m.reply(map[string]any{"deploymentId": "d-1", "status": "InProgress"})
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	// Ping sends an empty params object and no timeoutMs without a deadline.
	go func() { done <- c.Ping(context.Background()) }()
	m = s.next()
	if m.Method != "sys.ping" || string(m.Params) != "{}" {
		t.Fatalf("ping sent %q", m.raw)
	}
	m.reply(map[string]any{})
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestOutOfOrderResponsesReachTheirCallers(t *testing.T) {
	s := newFakeServer(t)
	c := s.dial(t)
	const n = 32
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			var out struct{ N int }
			if err := c.Call(context.Background(), "test.echo", map[string]int{"n": i}, &out); err != nil {
				errs <- err
				return
			}
			if out.N != i {
				errs <- fmt.Errorf("call %d got the answer of %d", i, out.N)
			}
		}(i)
	}
	// Collect every request first, then answer newest first.
	var got []fakeMsg
	for len(got) < n {
		got = append(got, s.next())
	}
	for i := len(got) - 1; i >= 0; i-- {
		var p struct{ N int }
		_ = json.Unmarshal(got[i].Params, &p)
		got[i].reply(map[string]int{"n": p.N})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestProgressIsRoutedByTokenAndDeliveredBeforeReturn(t *testing.T) {
	s := newFakeServer(t)
	c := s.dial(t)
	type result struct {
		name   string
		weight []float64
		err    error
	}
	results := make(chan result, 2)
	for _, name := range []string{"a", "b"} {
		go func(name string) {
			var weights []float64
			_, err := c.Wait(context.Background(), "d-"+name, func(p RolloutProgress) {
				// Calling the client from a callback must not stall the reader.
				if err := c.Ping(context.Background()); err != nil {
					t.Errorf("ping from callback: %v", err)
				}
				weights = append(weights, p.Weight)
			})
			results <- result{name, weights, err}
		}(name)
	}
	waits := map[string]fakeMsg{}
	for len(waits) < 2 {
		m := s.next()
		if m.Method != "rollout.wait" {
			t.Fatalf("unexpected %s", m.raw)
		}
		if len(m.param("progressToken")) == 0 {
			t.Fatalf("no progressToken in %s", m.raw)
		}
		var id string
		_ = json.Unmarshal(m.param("deploymentId"), &id)
		waits[id] = m
	}
	// Answer pings from callbacks as they come, in the background.
	go func() {
		for m := range s.msgs {
			if m.Method == "sys.ping" {
				m.reply(map[string]any{})
			}
		}
	}()
	a, b := waits["d-a"], waits["d-b"]
	ev := func(typ string) map[string]any {
		return map[string]any{"at": "2025-01-02T03:04:05.678Z", "type": typ, "detail": typ}
	}
	for i, w := range []float64{0.1, 0.5, 1} {
		a.progress(a.param("progressToken"), map[string]any{"event": ev(fmt.Sprint("A", i)), "status": "InProgress", "weight": w})
		b.progress(b.param("progressToken"), map[string]any{"event": ev(fmt.Sprint("B", i)), "status": "InProgress", "weight": w / 10})
	}
	a.progress(json.RawMessage(`"nobody"`), map[string]any{"weight": 0.99})
	dep := func(id string) map[string]any {
		return map[string]any{"deploymentId": id, "engine": "native", "function": "fn", "alias": "live",
			"fromVersion": "1", "toVersion": "2", "strategy": map[string]any{"type": "allAtOnce"},
			"status": "Succeeded", "weight": 1, "startedAt": "2025-01-02T03:04:05Z", "rolledBack": false,
			"events": []any{ev("Start"), ev("Succeeded")}}
	}
	b.reply(dep("d-b"))
	a.reply(dep("d-a"))
	for i := 0; i < 2; i++ {
		r := <-results
		if r.err != nil {
			t.Fatal(r.err)
		}
		want := []float64{0.1, 0.5, 1}
		if r.name == "b" {
			want = []float64{0.01, 0.05, 0.1}
		}
		if fmt.Sprint(r.weight) != fmt.Sprint(want) {
			t.Errorf("%s saw %v, want %v", r.name, r.weight, want)
		}
	}
}

func TestCancelSendsCancelRequestAndLeavesTheClientUsable(t *testing.T) {
	s := newFakeServer(t)
	c := s.dial(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Call(ctx, "queue.receive", map[string]int{"waitSeconds": 20}, nil) }()
	req := s.next()
	cancel()
	err := <-done
	if !errors.Is(err, context.Canceled) || IsRecoverable(err) || errors.Is(err, ErrDeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
	note := s.next()
	if note.Method != "$/cancelRequest" || len(note.ID) != 0 || string(note.param("id")) != string(req.ID) {
		t.Fatalf("want $/cancelRequest for id %s, got %q", req.ID, note.raw)
	}
	// The daemon's late answer is dropped; the connection keeps working.
	req.fail(CodeRequestCancelled, "request cancelled", map[string]any{"kind": "recoverable", "reason": "RequestCancelled"})
	go func() { done <- c.Ping(context.Background()) }()
	ping := s.next()
	ping.reply(map[string]any{})
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestDeadlineSendsTimeoutMsAndCancels(t *testing.T) {
	s := newFakeServer(t)
	c := s.dial(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Call(ctx, "rollout.wait", map[string]string{"deploymentId": "d-1"}, nil) }()
	req := s.next()
	var ms int64
	if err := json.Unmarshal(req.param("timeoutMs"), &ms); err != nil || ms < 1 || ms > 300 {
		t.Fatalf("timeoutMs %s not in [1, 300]", req.param("timeoutMs"))
	}
	err := <-done
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ErrDeadlineExceeded) || !IsRecoverable(err) {
		t.Fatalf("got %v", err)
	}
	if note := s.next(); note.Method != "$/cancelRequest" || string(note.param("id")) != string(req.ID) {
		t.Fatalf("want $/cancelRequest, got %q", note.raw)
	}
	// An explicit timeoutMs param is kept as given.
	ctx2, cancel2 := context.WithTimeout(context.Background(), time.Hour)
	defer cancel2()
	go func() { done <- c.Call(ctx2, "sys.ping", nil, nil, WithParam("timeoutMs", 1234)) }()
	req = s.next()
	if string(req.param("timeoutMs")) != "1234" {
		t.Fatalf("timeoutMs overridden: %s", req.raw)
	}
	req.reply(map[string]any{})
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// A context that already ended sends nothing.
	if err := c.Ping(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
}

func TestErrorMapping(t *testing.T) {
	s := newFakeServer(t)
	c := s.dial(t)
	cases := []struct {
		code        int
		message     string
		data        any
		sentinel    error
		recoverable bool
		check       func(*Error) error
	}{
		{-32001, "Lambda throttled", map[string]any{"kind": "recoverable", "reason": "Throttled", "retryAfterMs": 1500,
			"upstream": map[string]any{"service": "lambda", "code": "TooManyRequestsException", "httpStatus": 429, "requestId": "r-1"}},
			ErrThrottled, true, func(e *Error) error {
				if e.RetryAfter != 1500*time.Millisecond || e.Upstream == nil || e.Upstream.Code != "TooManyRequestsException" ||
					e.Upstream.HTTPStatus != 429 || e.Upstream.RequestID != "r-1" {
					return fmt.Errorf("retry/upstream not decoded: %+v %+v", e, e.Upstream)
				}
				return nil
			}},
		{-32002, "S3 unreachable", map[string]any{"kind": "recoverable", "reason": "Unavailable"}, ErrUnavailable, true, nil},
		{-32011, "deployment d-X not found", map[string]any{"kind": "fatal", "reason": "NotFound"}, ErrNotFound, false, nil},
		{-32013, "alias nope does not exist", map[string]any{"kind": "fatal", "reason": "PreconditionFailed"}, ErrPreconditionFailed, false, nil},
		{-32014, "active deployment", map[string]any{"kind": "fatal", "reason": "Conflict", "activeDeploymentId": "d-OLD"},
			ErrConflict, false, func(e *Error) error {
				if e.ActiveDeploymentID != "d-OLD" {
					return fmt.Errorf("activeDeploymentId %q", e.ActiveDeploymentID)
				}
				return nil
			}},
		{-32017, "rollouts need provider aws", map[string]any{"kind": "fatal", "reason": "Unsupported"}, ErrUnsupported, false, nil},
		{-32003, "wait limit", map[string]any{"kind": "recoverable", "reason": "DeadlineExceeded",
			"deployment": map[string]any{"deploymentId": "d-1", "status": "InProgress", "weight": 0.1}},
			ErrDeadlineExceeded, true, func(e *Error) error {
				if e.Deployment == nil || e.Deployment.Weight != 0.1 || e.Deployment.Status != StatusInProgress {
					return fmt.Errorf("deployment not decoded: %+v", e.Deployment)
				}
				return nil
			}},
		{-32602, "param 'key' must be a string", nil, ErrInvalidParams, false, nil},
		{-32601, "method not found: x", nil, ErrMethodNotFound, false, nil},
		{-32004, "still running elsewhere", map[string]any{"kind": "recoverable", "reason": "InProgress"}, ErrInProgress, true, nil},
	}
	for _, tc := range cases {
		done := make(chan error, 1)
		go func() { done <- c.Call(context.Background(), "some.method", nil, nil) }()
		s.next().fail(tc.code, tc.message, tc.data)
		err := <-done
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("%d: not an *Error: %v", tc.code, err)
		}
		if !errors.Is(err, tc.sentinel) || e.Code != tc.code || e.Message != tc.message || IsRecoverable(err) != tc.recoverable {
			t.Errorf("%d: %v (kind %s reason %s) does not map to %v (recoverable %v)", tc.code, err, e.Kind, e.Reason, tc.sentinel, tc.recoverable)
		}
		if tc.sentinel != ErrNotFound && errors.Is(err, ErrNotFound) {
			t.Errorf("%d matches ErrNotFound", tc.code)
		}
		if !strings.Contains(err.Error(), "some.method") || !strings.Contains(err.Error(), tc.message) {
			t.Errorf("message %q lacks the method or the daemon's message", err)
		}
		if tc.data != nil && len(e.Data) == 0 {
			t.Errorf("%d: raw data missing", tc.code)
		}
		if tc.check != nil {
			if cerr := tc.check(e); cerr != nil {
				t.Errorf("%d: %v", tc.code, cerr)
			}
		}
	}
}

func TestConnectionLostAndClose(t *testing.T) {
	s := newFakeServer(t)
	c := s.dial(t)
	done := make(chan error, 1)
	go func() { done <- c.Ping(context.Background()) }()
	m := s.next()
	m.conn.c.Close() // the daemon went away with the call in flight
	err := <-done
	if !errors.Is(err, ErrConnectionLost) || !IsRecoverable(err) {
		t.Fatalf("got %v", err)
	}
	<-c.Done()
	if err := c.Ping(context.Background()); !errors.Is(err, ErrConnectionLost) {
		t.Fatalf("after loss: %v", err)
	}

	c2 := s.dial(t)
	go func() { done <- c2.Ping(context.Background()) }()
	s.next()
	if err := c2.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, ErrClosed) || IsRecoverable(err) {
		t.Fatalf("pending call after Close: %v", err)
	}
	if err := c2.Ping(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("call after Close: %v", err)
	}
	if err := c2.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestLenientFraming(t *testing.T) {
	s := newFakeServer(t)
	c := s.dial(t)
	done := make(chan error, 1)
	var out map[string]int
	go func() { done <- c.Call(context.Background(), "x.y", nil, &out) }()
	m := s.next()
	m.conn.sendLine("")
	m.conn.sendLine(`{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error"}}`)
	m.conn.sendLine(`{"jsonrpc":"2.0","method":"$/somethingElse","params":{}}`)
	m.conn.sendLine(`{"jsonrpc":"2.0","id":"other","result":{}}`)
	m.conn.sendLine(fmt.Sprintf(`[{"jsonrpc":"2.0","id":%s,"result":{"v":7}}]`+"\r", m.ID))
	if err := <-done; err != nil || out["v"] != 7 {
		t.Fatalf("got %v %v", out, err)
	}
}

func TestBadParamsAreRefusedLocally(t *testing.T) {
	s := newFakeServer(t)
	c := s.dial(t)
	if err := c.Call(context.Background(), "x.y", []int{1, 2}, nil); err == nil || !strings.Contains(err.Error(), "JSON object") {
		t.Fatalf("got %v", err)
	}
}

func TestDialUsesTheEnvironment(t *testing.T) {
	s := newFakeServer(t)
	t.Setenv(EnvSocket, s.path)
	c, err := Dial(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	done := make(chan error, 1)
	go func() { done <- c.Ping(context.Background()) }()
	s.next().reply(map[string]any{})
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvSocket, "")
	if SocketPath("") != DefaultSocket || SocketPath("/x") != "/x" {
		t.Fatal("socket path resolution")
	}
	if _, err := Dial(context.Background(), s.path+".missing"); err == nil {
		t.Fatal("dial to a missing socket succeeded")
	}
}

func TestDeriveIdempotencyKey(t *testing.T) {
	p := StartParams{Function: "fn", Alias: "live", TargetVersion: "2", Strategy: Canary(10, time.Minute)}
	k1, _ := DeriveIdempotencyKey("apply", p)
	k2, _ := DeriveIdempotencyKey("apply", p)
	p.TargetVersion = "3"
	k3, _ := DeriveIdempotencyKey("apply", p)
	if k1 != k2 || k1 == k3 || !strings.HasPrefix(k1, "apply-") || len(k1) != len("apply-")+64 {
		t.Fatalf("keys %q %q %q", k1, k2, k3)
	}
}

func TestTypedResultsDecode(t *testing.T) {
	s := newFakeServer(t)
	c := s.dial(t)
	type call func() error
	var dep *Deployment
	var list []Deployment
	var obj *Object
	var msgs []Message
	steps := []struct {
		run    call
		method string
		result string
	}{
		{func() (err error) { dep, err = c.Get(context.Background(), "d-1"); return }, "rollout.get",
			`{"deploymentId":"d-1","engine":"native","function":"fn","alias":"live","fromVersion":"1","toVersion":"2",
			"strategy":{"type":"linear","percent":25,"intervalSeconds":1},"status":"Failed","weight":0,
			"startedAt":"2025-01-02T03:04:05Z","completedAt":"2025-01-02T03:05:05.5Z","rolledBack":true,
			"error":{"code":"HOOK_EXECUTION_FAILURE","message":"smoke test failed"},"events":[{"at":"2025-01-02T03:04:05Z","type":"Start","detail":""}]}`},
		{func() (err error) { list, err = c.List(context.Background(), ListFilter{Function: "fn"}); return }, "rollout.list",
			`{"deployments":[]}`},
		{func() (err error) { obj, err = c.ObjectGet(context.Background(), "k", nil); return }, "object.get",
			`{"key":"k","size":2,"etag":"e","metadata":{},"data":"aGk="}`},
		{func() (err error) { msgs, err = c.QueueReceive(context.Background(), ReceiveOptions{Max: 2}); return }, "queue.receive",
			`{"messages":[{"messageId":"m","body":"b","attributes":{},"receipt":"r","receiveCount":1,"sentAt":"2025-01-02T03:04:05Z"}]}`},
	}
	for _, st := range steps {
		done := make(chan error, 1)
		go func() { done <- st.run() }()
		m := s.next()
		if m.Method != st.method {
			t.Fatalf("sent %s, want %s", m.Method, st.method)
		}
		m.conn.send(map[string]any{"jsonrpc": "2.0", "id": m.ID, "result": json.RawMessage(strings.Join(strings.Fields(st.result), " "))})
		if err := <-done; err != nil {
			t.Fatalf("%s: %v", st.method, err)
		}
	}
	if dep.Status != StatusFailed || !dep.Status.Terminal() || dep.Error == nil || dep.Error.Code != "HOOK_EXECUTION_FAILURE" ||
		dep.CompletedAt == nil || dep.CompletedAt.Sub(dep.StartedAt) != 60500*time.Millisecond || dep.Strategy.Percent != 25 {
		t.Errorf("deployment %+v", dep)
	}
	if list == nil || len(list) != 0 {
		t.Errorf("list %v", list)
	}
	if string(obj.Data) != "hi" {
		t.Errorf("object %+v", obj)
	}
	if len(msgs) != 1 || msgs[0].Receipt != "r" {
		t.Errorf("messages %+v", msgs)
	}
}

func TestManyConcurrentCallsWithProgressUnderRace(t *testing.T) {
	s := newFakeServer(t)
	c := s.dial(t)
	const n = 50
	go func() {
		var batch []fakeMsg
		for m := range s.msgs {
			batch = append(batch, m)
			if len(batch) == 10 {
				sort.Slice(batch, func(i, j int) bool { return string(batch[i].ID) > string(batch[j].ID) })
				for _, b := range batch {
					b.progress(b.param("progressToken"), map[string]any{"bytesDone": 1})
					b.progress(b.param("progressToken"), map[string]any{"bytesDone": 2, "bytesTotal": 2})
				}
				for _, b := range batch {
					b.reply(map[string]any{"key": "k", "size": 2, "etag": "e", "contentId": "c", "parts": 1})
				}
				batch = nil
			}
		}
	}()
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var seen []int64
			_, err := c.ObjectPutText(context.Background(), "k", "hi", nil, WithObjectProgress(func(p ObjectProgress) {
				seen = append(seen, p.BytesDone)
			}))
			if err != nil || fmt.Sprint(seen) != "[1 2]" {
				t.Errorf("err %v progress %v", err, seen)
			}
		}()
	}
	wg.Wait()
}
