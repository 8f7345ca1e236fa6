// Package rolloutd is a Go client for the rolloutd sidecar daemon: line-delimited
// JSON-RPC 2.0 over a Unix domain socket, standard library only.
//
// (Go's net/rpc/jsonrpc speaks JSON-RPC 1.0 and cannot talk to rolloutd; this package
// implements the 2.0 wire protocol itself.)
//
// # Connection model
//
// A Client holds one connection. It is safe for concurrent use: every call gets its own
// numeric id, writes are serialised by a writer lock (each request is one whole line), and
// a single reader goroutine matches responses to waiting calls by id, so responses may
// arrive in any order. `$/progress` notifications are routed by their progressToken to the
// callback of the call that asked for them.
//
// # Contexts, cancellation and deadlines
//
// Every call takes a context.Context:
//
//   - When the context is cancelled or its deadline passes while the request is in flight,
//     the client sends the `$/cancelRequest` notification for that id (best effort, in the
//     background), stops waiting and returns an error that wraps ctx.Err(), so
//     errors.Is(err, context.Canceled) / errors.Is(err, context.DeadlineExceeded) work. A
//     response that arrives later (the daemon answers -32800 RequestCancelled) is dropped.
//     If the response had already arrived when the context fired, it wins.
//   - When the context has a deadline, the remaining time is also sent as the generic
//     `timeoutMs` param (rounded up to whole milliseconds) unless the params already carry
//     one. The daemon then abandons the work on its own when the deadline passes, even if
//     the cancel notification never reaches it. Because the daemon's clock starts after the
//     client's, the client's context normally fires first; if the daemon's answer wins the
//     race the error is an *Error with reason DeadlineExceeded. Both forms satisfy
//     errors.Is(err, ErrDeadlineExceeded).
//   - Waiting for the writer lock honours the context, but a request line that is already
//     being written is finished even if the context ends meanwhile: the daemon applies
//     backpressure by not reading, and a half-written line would break the connection for
//     every call on it.
//
// # Errors
//
// A JSON-RPC error response is returned as *Error, carrying the code, message, the raw
// data member and its decoded fields (kind, reason, retryAfterMs, upstream, ...). Compare
// with the sentinel values using errors.Is (errors.Is(err, rolloutd.ErrNotFound)); they
// match by reason. IsRecoverable tells whether retrying later may succeed.
//
// # Progress callbacks
//
// A progress callback runs on a goroutine of its own, one notification at a time and in
// the order received, so it may block or even call the Client. Every notification that
// arrived before the response is delivered before the call returns, and no callback runs
// after the call has returned.
//
// # Idempotency
//
// Mutating methods accept WithIdempotencyKey. Retrying a call with the same key and the
// same params (after a lost connection, a recoverable error or a restarted program)
// returns the stored result instead of doing the work twice; DeriveIdempotencyKey builds a
// stable key from the inputs of an operation.
package rolloutd
