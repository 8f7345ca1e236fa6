package rolloutd

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// EnvSocket names the environment variable Dial reads when no socket path is given.
const EnvSocket = "ROLLOUT_SOCKET"

// DefaultSocket is the daemon's default socket path ([server].socket), relative to its
// working directory; Dial uses it when neither a path nor $ROLLOUT_SOCKET is given.
const DefaultSocket = ".rollout/rollout.sock"

// ErrClosed is returned by calls made on, or pending when, the client is closed by Close.
var ErrClosed = errors.New("rolloutd: client closed")

// ErrConnectionLost matches (with errors.Is) the error returned when the connection to
// the daemon broke (daemon stopped or restarted). Dial again and retry; with the same
// idempotency key a mutating call is not applied twice.
var ErrConnectionLost = errors.New("rolloutd: connection to the daemon lost")

type connLostError struct{ cause error }

func (e *connLostError) Error() string        { return ErrConnectionLost.Error() + ": " + e.cause.Error() }
func (e *connLostError) Unwrap() error        { return e.cause }
func (e *connLostError) Is(target error) bool { return target == ErrConnectionLost }

// contextError is returned when a call's context ends first; it wraps ctx.Err().
type contextError struct {
	method string
	err    error
}

func (e *contextError) Error() string { return "rolloutd: " + e.method + ": " + e.err.Error() }
func (e *contextError) Unwrap() error { return e.err }
func (e *contextError) Is(target error) bool {
	return target == ErrDeadlineExceeded && e.err == context.DeadlineExceeded
}

// SocketPath resolves the socket path the way rolloutctl does: the argument, else
// $ROLLOUT_SOCKET, else DefaultSocket.
func SocketPath(path string) string {
	if path != "" {
		return path
	}
	if env := os.Getenv(EnvSocket); env != "" {
		return env
	}
	return DefaultSocket
}

// Client is a connection to rolloutd. It is safe for concurrent use by multiple goroutines.
type Client struct {
	conn     net.Conn
	writeSem chan struct{} // the writer lock; a channel so waiting for it honours ctx
	nextID   atomic.Uint64

	mu       sync.Mutex
	pending  map[uint64]chan response
	progress map[string]*progressSink
	closed   bool
	err      error // why the connection ended; set before done is closed

	done       chan struct{}
	readerDone chan struct{}
}

type response struct {
	result json.RawMessage
	err    *wireError
}

type wireError struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

// Dial connects to the daemon's Unix socket. An empty socketPath means $ROLLOUT_SOCKET,
// else DefaultSocket. ctx bounds the connection attempt only.
func Dial(ctx context.Context, socketPath string) (*Client, error) {
	path := SocketPath(socketPath)
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, fmt.Errorf("rolloutd: cannot connect to %s: %w", path, err)
	}
	return NewClient(conn), nil
}

// NewClient wraps an established connection (any stream that speaks rolloutd's protocol).
// The client owns conn and closes it on Close.
func NewClient(conn net.Conn) *Client {
	c := &Client{
		conn:       conn,
		writeSem:   make(chan struct{}, 1),
		pending:    make(map[uint64]chan response),
		progress:   make(map[string]*progressSink),
		done:       make(chan struct{}),
		readerDone: make(chan struct{}),
	}
	go c.readLoop()
	return c
}

// Close closes the connection. Calls in flight return ErrClosed; the daemon cancels them.
func (c *Client) Close() error {
	err := c.shutdown(ErrClosed)
	<-c.readerDone
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

// Done is closed when the connection has ended (Close, or the daemon went away).
func (c *Client) Done() <-chan struct{} { return c.done }

// Err returns why the connection ended (ErrClosed, or an error matching
// ErrConnectionLost), or nil while it is open.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// shutdown ends the connection once, recording why; it returns the conn.Close error.
func (c *Client) shutdown(reason error) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.err = reason
	c.mu.Unlock()
	err := c.conn.Close()
	close(c.done)
	return err
}

// CallOption adjusts one call.
type CallOption func(*callOptions)

type callOptions struct {
	idempotencyKey string
	progress       func(json.RawMessage)
	params         map[string]any
}

// WithIdempotencyKey makes a mutating call idempotent (1–255 printable ASCII characters):
// repeating it with the same key and params returns the stored result (with
// "replayed": true) instead of doing the work again, across connections and daemon restarts.
func WithIdempotencyKey(key string) CallOption {
	return func(o *callOptions) { o.idempotencyKey = key }
}

// WithProgress asks for `$/progress` notifications and passes the params of each one
// (including the progressToken member) to fn. See the package documentation for when fn runs.
func WithProgress(fn func(params json.RawMessage)) CallOption {
	return func(o *callOptions) { o.progress = fn }
}

// WithObjectProgress is WithProgress for object.put / object.get.
func WithObjectProgress(fn func(ObjectProgress)) CallOption {
	return WithProgress(func(raw json.RawMessage) {
		var p ObjectProgress
		if json.Unmarshal(raw, &p) == nil {
			fn(p)
		}
	})
}

// WithRolloutProgress is WithProgress for rollout.wait.
func WithRolloutProgress(fn func(RolloutProgress)) CallOption {
	return WithProgress(func(raw json.RawMessage) {
		var p RolloutProgress
		if json.Unmarshal(raw, &p) == nil {
			fn(p)
		}
	})
}

// WithParam adds (or replaces) one by-name param, e.g. WithParam("timeoutSeconds", 30) on
// rollout.wait; an escape hatch for params the typed methods do not expose.
func WithParam(name string, value any) CallOption {
	return func(o *callOptions) {
		if o.params == nil {
			o.params = make(map[string]any)
		}
		o.params[name] = value
	}
}

// Call invokes method with params (anything that marshals to a JSON object, or nil) and
// decodes the result into result (a pointer, or nil to discard it). A JSON-RPC error
// response is returned as *Error.
func (c *Client) Call(ctx context.Context, method string, params, result any, opts ...CallOption) error {
	var o callOptions
	for _, opt := range opts {
		opt(&o)
	}
	if err := ctx.Err(); err != nil {
		return &contextError{method, err}
	}
	id := c.nextID.Add(1)
	extra := map[string]any{}
	for k, v := range o.params {
		extra[k] = v
	}
	if o.idempotencyKey != "" {
		extra["idempotencyKey"] = o.idempotencyKey
	}
	var token string
	if o.progress != nil {
		token = "go-" + strconv.FormatUint(id, 10)
		extra["progressToken"] = token
	}
	var timeoutMs int64
	if deadline, ok := ctx.Deadline(); ok {
		remaining := time.Until(deadline)
		if remaining <= 0 {
			return &contextError{method, context.DeadlineExceeded}
		}
		timeoutMs = int64((remaining + time.Millisecond - 1) / time.Millisecond)
	}
	body, err := buildParams(params, extra, timeoutMs)
	if err != nil {
		return fmt.Errorf("rolloutd: %s: %w", method, err)
	}
	line, err := json.Marshal(struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      uint64          `json:"id"`
		Method  string          `json:"method"`
		Params  json.RawMessage `json:"params"`
	}{"2.0", id, method, body})
	if err != nil {
		return fmt.Errorf("rolloutd: %s: %w", method, err)
	}
	line = append(line, '\n')

	ch := make(chan response, 1)
	var sink *progressSink
	c.mu.Lock()
	if c.closed {
		err := c.err
		c.mu.Unlock()
		return err
	}
	c.pending[id] = ch
	if o.progress != nil {
		sink = newProgressSink(o.progress)
		c.progress[token] = sink
	}
	c.mu.Unlock()

	if err := c.write(ctx, method, line); err != nil {
		c.forget(id, token, sink)
		return err
	}

	var resp response
	select {
	case resp = <-ch:
	case <-ctx.Done():
		select {
		case resp = <-ch: // answered just in time: the answer wins
		default:
			c.forget(id, token, sink)
			go c.sendCancel(id)
			return &contextError{method, ctx.Err()}
		}
	case <-c.done:
		select {
		case resp = <-ch:
		default:
			c.forget(id, token, sink)
			return c.Err()
		}
	}
	c.forget(id, token, sink)
	if resp.err != nil {
		return newError(method, resp.err)
	}
	if result != nil && len(resp.result) > 0 {
		if err := json.Unmarshal(resp.result, result); err != nil {
			return fmt.Errorf("rolloutd: %s: cannot decode result: %w", method, err)
		}
	}
	return nil
}

// Notify sends a notification (no id, never answered).
func (c *Client) Notify(ctx context.Context, method string, params any) error {
	body, err := buildParams(params, nil, 0)
	if err != nil {
		return fmt.Errorf("rolloutd: %s: %w", method, err)
	}
	line, err := json.Marshal(struct {
		JSONRPC string          `json:"jsonrpc"`
		Method  string          `json:"method"`
		Params  json.RawMessage `json:"params"`
	}{"2.0", method, body})
	if err != nil {
		return err
	}
	return c.write(ctx, method, append(line, '\n'))
}

func (c *Client) sendCancel(id uint64) {
	_ = c.Notify(context.Background(), "$/cancelRequest", map[string]uint64{"id": id})
}

// write sends one whole line under the writer lock. Waiting for the lock honours ctx; once
// the line is being written it is written whole (a partial line would break the stream).
func (c *Client) write(ctx context.Context, method string, line []byte) error {
	select {
	case c.writeSem <- struct{}{}:
	case <-ctx.Done():
		return &contextError{method, ctx.Err()}
	case <-c.done:
		return c.Err()
	}
	defer func() { <-c.writeSem }()
	select {
	case <-c.done:
		return c.Err()
	default:
	}
	if _, err := c.conn.Write(line); err != nil {
		c.shutdown(&connLostError{err})
		return c.Err()
	}
	return nil
}

// forget unregisters a call and its progress sink, then waits until every notification
// already queued for it has been delivered.
func (c *Client) forget(id uint64, token string, sink *progressSink) {
	c.mu.Lock()
	delete(c.pending, id)
	if sink != nil {
		delete(c.progress, token)
	}
	c.mu.Unlock()
	if sink != nil {
		sink.finish()
	}
}

func (c *Client) readLoop() {
	defer close(c.readerDone)
	r := bufio.NewReaderSize(c.conn, 64<<10)
	for {
		line, err := r.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			c.dispatch(line)
		}
		if err != nil {
			c.shutdown(&connLostError{err})
			return
		}
	}
}

type envelope struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	Result json.RawMessage `json:"result"`
	Error  *wireError      `json:"error"`
}

func (c *Client) dispatch(line []byte) {
	line = bytes.TrimSpace(line)
	if line[0] == '[' { // a batch answer; this client sends none, but be lenient
		var items []json.RawMessage
		if json.Unmarshal(line, &items) == nil {
			for _, item := range items {
				if len(bytes.TrimSpace(item)) > 0 {
					c.dispatch(item)
				}
			}
		}
		return
	}
	var msg envelope
	if json.Unmarshal(line, &msg) != nil {
		return // not JSON: nothing can be matched
	}
	if msg.Method != "" {
		if msg.Method == "$/progress" {
			c.routeProgress(msg.Params)
		}
		return // other notifications are ignored
	}
	// Responses with id null (parse errors, over-long lines) cannot be matched to a call.
	id, err := strconv.ParseUint(string(msg.ID), 10, 64)
	if err != nil {
		return
	}
	c.mu.Lock()
	ch, ok := c.pending[id]
	delete(c.pending, id)
	c.mu.Unlock()
	if ok {
		ch <- response{result: msg.Result, err: msg.Error}
	}
}

func (c *Client) routeProgress(params json.RawMessage) {
	var head struct {
		ProgressToken json.RawMessage `json:"progressToken"`
	}
	if json.Unmarshal(params, &head) != nil {
		return
	}
	var token string
	if json.Unmarshal(head.ProgressToken, &token) != nil {
		return
	}
	c.mu.Lock()
	sink := c.progress[token]
	c.mu.Unlock()
	if sink != nil {
		sink.push(params)
	}
}

// buildParams marshals params (which must be a JSON object or nil) and merges extra
// members into it; timeoutMs is added only when positive and not already present.
func buildParams(params any, extra map[string]any, timeoutMs int64) (json.RawMessage, error) {
	raw := json.RawMessage("{}")
	if params != nil {
		b, err := json.Marshal(params)
		if err != nil {
			return nil, err
		}
		b = bytes.TrimSpace(b)
		switch {
		case string(b) == "null":
		case len(b) > 0 && b[0] == '{':
			raw = b
		default:
			return nil, fmt.Errorf("params must marshal to a JSON object (by-name), got %.40s", b)
		}
	}
	if len(extra) == 0 && timeoutMs <= 0 {
		return raw, nil
	}
	fields := map[string]json.RawMessage{}
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, err
	}
	for k, v := range extra {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("param %q: %w", k, err)
		}
		fields[k] = b
	}
	if _, ok := fields["timeoutMs"]; !ok && timeoutMs > 0 {
		fields["timeoutMs"] = json.RawMessage(strconv.FormatInt(timeoutMs, 10))
	}
	return json.Marshal(fields)
}

// progressSink delivers one call's notifications to its callback on a goroutine of its
// own, in order, without ever blocking the reader.
type progressSink struct {
	fn       func(json.RawMessage)
	mu       sync.Mutex
	queue    []json.RawMessage
	closed   bool
	wake     chan struct{}
	finished chan struct{}
}

func newProgressSink(fn func(json.RawMessage)) *progressSink {
	s := &progressSink{fn: fn, wake: make(chan struct{}, 1), finished: make(chan struct{})}
	go s.run()
	return s
}

func (s *progressSink) push(params json.RawMessage) {
	s.mu.Lock()
	if !s.closed {
		s.queue = append(s.queue, params)
	}
	s.mu.Unlock()
	s.signal()
}

func (s *progressSink) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// finish stops accepting notifications and waits until the queued ones were delivered.
func (s *progressSink) finish() {
	s.mu.Lock()
	already := s.closed
	s.closed = true
	s.mu.Unlock()
	if !already {
		s.signal()
	}
	<-s.finished
}

func (s *progressSink) run() {
	defer close(s.finished)
	for range s.wake {
		for {
			s.mu.Lock()
			if len(s.queue) == 0 {
				closed := s.closed
				s.mu.Unlock()
				if closed {
					return
				}
				break
			}
			next := s.queue[0]
			s.queue = s.queue[1:]
			s.mu.Unlock()
			s.fn(next)
		}
	}
}
