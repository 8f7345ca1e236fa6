package rolloutd

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"
)

// Error kinds (data.kind).
const (
	KindRecoverable = "recoverable" // retrying later may succeed
	KindFatal       = "fatal"       // it will not succeed until something changes
)

// Error codes: the JSON-RPC protocol errors and rolloutd's domain errors (SPEC §3.1).
const (
	CodeParseError         = -32700
	CodeInvalidRequest     = -32600
	CodeMethodNotFound     = -32601
	CodeInvalidParams      = -32602
	CodeInternalError      = -32603
	CodeRequestCancelled   = -32800
	CodeThrottled          = -32001
	CodeUnavailable        = -32002
	CodeDeadlineExceeded   = -32003
	CodeInProgress         = -32004
	CodeConfigInvalid      = -32010
	CodeNotFound           = -32011
	CodeAccessDenied       = -32012
	CodePreconditionFailed = -32013
	CodeConflict           = -32014
	CodeReadOnly           = -32015
	CodeTooLarge           = -32016
	CodeUnsupported        = -32017
)

// Error is a JSON-RPC error response from the daemon.
type Error struct {
	Method  string          // the method called
	Code    int             // JSON-RPC error code
	Message string          // human-readable message
	Data    json.RawMessage // the raw data member, for fields not decoded below

	Kind       string        // data.kind: KindRecoverable or KindFatal
	Reason     string        // data.reason, e.g. "NotFound", "Throttled"
	RetryAfter time.Duration // data.retryAfterMs (Throttled): a backoff hint; 0 when absent
	Upstream   *Upstream     // data.upstream: the failing AWS call, when there was one

	ActiveDeploymentID string      // data.activeDeploymentId (rollout.start Conflict)
	Deployment         *Deployment // data.deployment (rollout.wait DeadlineExceeded)
}

// Upstream describes the failing upstream (AWS) call behind an error.
type Upstream struct {
	Service    string `json:"service"`
	Code       string `json:"code,omitempty"`
	HTTPStatus int    `json:"httpStatus,omitempty"`
	RequestID  string `json:"requestId,omitempty"`
}

func (e *Error) Error() string {
	s := "rolloutd: "
	if e.Method != "" {
		s += e.Method + ": "
	}
	reason := e.Reason
	if reason == "" {
		reason = "error " + strconv.Itoa(e.Code)
	}
	s += reason
	if e.Message != "" && e.Message != e.Reason {
		s += ": " + e.Message
	}
	if e.Upstream != nil && e.Upstream.Code != "" {
		s += " (" + e.Upstream.Service + " " + e.Upstream.Code + ")"
	}
	return s
}

// Is matches the sentinel values: by reason when the target has one, else by code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok {
		return false
	}
	if t.Reason != "" {
		return e.Reason == t.Reason
	}
	return t.Code != 0 && t.Code == e.Code
}

// Recoverable reports whether retrying later may succeed (data.kind == "recoverable").
func (e *Error) Recoverable() bool { return e.Kind == KindRecoverable }

func sentinel(code int, reason, kind string) *Error {
	return &Error{Code: code, Message: reason, Reason: reason, Kind: kind}
}

// Sentinel errors, for errors.Is. They match an *Error with the same reason.
var (
	ErrThrottled          = sentinel(CodeThrottled, "Throttled", KindRecoverable)
	ErrUnavailable        = sentinel(CodeUnavailable, "Unavailable", KindRecoverable)
	ErrDeadlineExceeded   = sentinel(CodeDeadlineExceeded, "DeadlineExceeded", KindRecoverable)
	ErrInProgress         = sentinel(CodeInProgress, "InProgress", KindRecoverable)
	ErrConfigInvalid      = sentinel(CodeConfigInvalid, "ConfigInvalid", KindFatal)
	ErrNotFound           = sentinel(CodeNotFound, "NotFound", KindFatal)
	ErrAccessDenied       = sentinel(CodeAccessDenied, "AccessDenied", KindFatal)
	ErrPreconditionFailed = sentinel(CodePreconditionFailed, "PreconditionFailed", KindFatal)
	ErrConflict           = sentinel(CodeConflict, "Conflict", KindFatal)
	ErrReadOnly           = sentinel(CodeReadOnly, "ReadOnly", KindFatal)
	ErrTooLarge           = sentinel(CodeTooLarge, "TooLarge", KindFatal)
	ErrUnsupported        = sentinel(CodeUnsupported, "Unsupported", KindFatal)
	ErrParseError         = sentinel(CodeParseError, "ParseError", KindFatal)
	ErrInvalidRequest     = sentinel(CodeInvalidRequest, "InvalidRequest", KindFatal)
	ErrMethodNotFound     = sentinel(CodeMethodNotFound, "MethodNotFound", KindFatal)
	ErrInvalidParams      = sentinel(CodeInvalidParams, "InvalidParams", KindFatal)
	ErrInternal           = sentinel(CodeInternalError, "InternalError", KindRecoverable)
	ErrRequestCancelled   = sentinel(CodeRequestCancelled, "RequestCancelled", KindRecoverable)
)

var byCode = map[int]*Error{}

func init() {
	for _, e := range []*Error{ErrThrottled, ErrUnavailable, ErrDeadlineExceeded, ErrInProgress, ErrConfigInvalid,
		ErrNotFound, ErrAccessDenied, ErrPreconditionFailed, ErrConflict, ErrReadOnly, ErrTooLarge, ErrUnsupported,
		ErrParseError, ErrInvalidRequest, ErrMethodNotFound, ErrInvalidParams, ErrInternal, ErrRequestCancelled} {
		byCode[e.Code] = e
	}
}

// newError decodes a wire error; kind and reason default from the code when data lacks them.
func newError(method string, w *wireError) *Error {
	e := &Error{Method: method, Code: w.Code, Message: w.Message, Data: w.Data}
	if len(w.Data) > 0 {
		var d struct {
			Kind               string      `json:"kind"`
			Reason             string      `json:"reason"`
			RetryAfterMs       *float64    `json:"retryAfterMs"`
			Upstream           *Upstream   `json:"upstream"`
			ActiveDeploymentID string      `json:"activeDeploymentId"`
			Deployment         *Deployment `json:"deployment"`
		}
		if json.Unmarshal(w.Data, &d) == nil {
			e.Kind, e.Reason, e.Upstream = d.Kind, d.Reason, d.Upstream
			e.ActiveDeploymentID, e.Deployment = d.ActiveDeploymentID, d.Deployment
			if d.RetryAfterMs != nil && *d.RetryAfterMs > 0 {
				e.RetryAfter = time.Duration(*d.RetryAfterMs * float64(time.Millisecond))
			}
		}
	}
	if known, ok := byCode[w.Code]; ok {
		if e.Reason == "" {
			e.Reason = known.Reason
		}
		if e.Kind == "" {
			e.Kind = known.Kind
		}
	}
	if e.Kind == "" {
		e.Kind = KindFatal
	}
	return e
}

// IsRecoverable reports whether retrying the call later may succeed: an *Error of kind
// "recoverable" (Throttled, Unavailable, DeadlineExceeded, InProgress, ...), a lost
// connection (dial again), or an expired context deadline. A cancelled context and fatal
// errors are not recoverable.
func IsRecoverable(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Recoverable()
	}
	return errors.Is(err, ErrConnectionLost) || errors.Is(err, context.DeadlineExceeded)
}
