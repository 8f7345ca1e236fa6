package rolloutd

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
)

// Status is a deployment's status (the CodeDeploy names). A paused deployment stays InProgress.
type Status string

// Deployment statuses.
const (
	StatusCreated    Status = "Created"
	StatusInProgress Status = "InProgress"
	StatusSucceeded  Status = "Succeeded"
	StatusFailed     Status = "Failed"
	StatusStopped    Status = "Stopped"
)

// Terminal reports whether the deployment has ended (Succeeded, Failed or Stopped).
func (s Status) Terminal() bool {
	return s == StatusSucceeded || s == StatusFailed || s == StatusStopped
}

// Strategy types.
const (
	StrategyAllAtOnce = "allAtOnce"
	StrategyCanary    = "canary"
	StrategyLinear    = "linear"
)

// Strategy says how traffic moves: canary (Percent for IntervalSeconds, then 100%),
// linear (+Percent every IntervalSeconds) or allAtOnce.
type Strategy struct {
	Type            string  `json:"type"`
	Percent         float64 `json:"percent,omitempty"`
	IntervalSeconds int     `json:"intervalSeconds,omitempty"`
}

// AllAtOnce shifts all traffic at once.
func AllAtOnce() Strategy { return Strategy{Type: StrategyAllAtOnce} }

// Canary sends percent of the traffic for interval, then all of it.
func Canary(percent float64, interval time.Duration) Strategy {
	return Strategy{Type: StrategyCanary, Percent: percent, IntervalSeconds: seconds(interval)}
}

// Linear adds percent of the traffic every interval until all of it.
func Linear(percent float64, interval time.Duration) Strategy {
	return Strategy{Type: StrategyLinear, Percent: percent, IntervalSeconds: seconds(interval)}
}

func seconds(d time.Duration) int { return int((d + time.Second - 1) / time.Second) }

// Hooks are Lambda functions (name or ARN) invoked synchronously around the traffic shift.
type Hooks struct {
	BeforeTraffic  string `json:"beforeTraffic,omitempty"`
	AfterTraffic   string `json:"afterTraffic,omitempty"`
	TimeoutSeconds int    `json:"timeoutSeconds,omitempty"` // default 3600
}

// StartParams are the params of rollout.start and rollout.plan. Pass an idempotency key
// with WithIdempotencyKey.
type StartParams struct {
	Function       string   `json:"function"`
	Alias          string   `json:"alias"`
	TargetVersion  string   `json:"targetVersion,omitempty"`
	Publish        bool     `json:"publish,omitempty"` // publish $LATEST and target it
	Strategy       Strategy `json:"strategy"`
	Hooks          *Hooks   `json:"hooks,omitempty"`
	Alarms         []string `json:"alarms,omitempty"`
	NotifyTopicArn string   `json:"notifyTopicArn,omitempty"`
	OnConflict     string   `json:"onConflict,omitempty"` // "fail" (default) | "rollback"
	Engine         string   `json:"engine,omitempty"`     // "native" | "codedeploy"
}

// DeploymentRef is the result of rollout.start, stop, promote, pause and resume.
type DeploymentRef struct {
	DeploymentID string `json:"deploymentId"`
	Status       Status `json:"status"`
	Replayed     bool   `json:"replayed,omitempty"` // a stored result for a repeated idempotency key
}

// Event is one entry of a deployment's history.
type Event struct {
	At     time.Time `json:"at"`
	Type   string    `json:"type"`
	Detail string    `json:"detail"`
}

// DeploymentError says why a deployment failed or stopped.
type DeploymentError struct {
	Code    string `json:"code"` // HOOK_EXECUTION_FAILURE, ALARM_ACTIVE, MANUAL_STOP, TIMEOUT, ...
	Message string `json:"message"`
}

func (e *DeploymentError) Error() string { return e.Code + ": " + e.Message }

// Deployment moves a Lambda alias from FromVersion to ToVersion.
type Deployment struct {
	DeploymentID string           `json:"deploymentId"`
	Engine       string           `json:"engine"`
	Function     string           `json:"function"`
	Alias        string           `json:"alias"`
	FromVersion  string           `json:"fromVersion"`
	ToVersion    string           `json:"toVersion"`
	Strategy     Strategy         `json:"strategy"`
	Status       Status           `json:"status"`
	Weight       float64          `json:"weight"` // share of traffic on ToVersion, 0–1
	NextStepAt   *time.Time       `json:"nextStepAt,omitempty"`
	StartedAt    time.Time        `json:"startedAt"`
	CompletedAt  *time.Time       `json:"completedAt,omitempty"`
	RolledBack   bool             `json:"rolledBack"`
	Skipped      bool             `json:"skipped,omitempty"`
	Paused       bool             `json:"paused,omitempty"`
	Error        *DeploymentError `json:"error,omitempty"`
	Events       []Event          `json:"events"`
}

// RolloutProgress is a `$/progress` notification of rollout.wait: one per event.
type RolloutProgress struct {
	ProgressToken json.RawMessage `json:"progressToken"`
	Event         Event           `json:"event"`
	Status        Status          `json:"status"`
	Weight        float64         `json:"weight"`
	NextStepAt    *time.Time      `json:"nextStepAt,omitempty"`
}

// ObjectProgress is a `$/progress` notification of object.put / object.get.
type ObjectProgress struct {
	ProgressToken json.RawMessage `json:"progressToken"`
	BytesDone     int64           `json:"bytesDone"`
	BytesTotal    *int64          `json:"bytesTotal,omitempty"` // nil when unknown
}

// Plan is the result of rollout.plan.
type Plan struct {
	Steps []struct {
		AtSeconds int     `json:"atSeconds"`
		Weight    float64 `json:"weight"`
	} `json:"steps"`
	Checks []struct {
		Name   string `json:"name"`
		OK     bool   `json:"ok"`
		Detail string `json:"detail"`
	} `json:"checks"`
	EstimatedSeconds int `json:"estimatedSeconds"`
}

// OK reports whether every preflight check passed.
func (p *Plan) OK() bool {
	for _, c := range p.Checks {
		if !c.OK {
			return false
		}
	}
	return true
}

// ListFilter narrows rollout.list; empty fields do not filter.
type ListFilter struct {
	Function string `json:"function,omitempty"`
	Alias    string `json:"alias,omitempty"`
	Status   Status `json:"status,omitempty"`
}

// CapabilityHealth is the state of one capability in sys.health.
type CapabilityHealth struct {
	OK        bool   `json:"ok"`
	LastError string `json:"lastError,omitempty"`
	Detail    string `json:"detail,omitempty"`
}

// Health is the result of sys.health.
type Health struct {
	Status       string `json:"status"` // "ok" | "degraded"
	Version      string `json:"version"`
	Provider     string `json:"provider"` // "aws" | "local"
	UptimeMs     int64  `json:"uptimeMs"`
	Capabilities struct {
		ObjectStore CapabilityHealth `json:"objectStore"`
		Queue       CapabilityHealth `json:"queue"`
		Secrets     CapabilityHealth `json:"secrets"`
		Compute     CapabilityHealth `json:"compute"`
		Rollout     CapabilityHealth `json:"rollout"`
	} `json:"capabilities"`
	Credentials *struct {
		Source    string     `json:"source"`
		ExpiresAt *time.Time `json:"expiresAt,omitempty"`
	} `json:"credentials,omitempty"`
}

// PutOptions are the optional params of object.put.
type PutOptions struct {
	ContentType string            `json:"contentType,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
	IfNoneMatch string            `json:"ifNoneMatch,omitempty"` // "*": create only
	IfMatch     string            `json:"ifMatch,omitempty"`     // replace only this etag
}

// PutResult is the result of object.put.
type PutResult struct {
	Key       string `json:"key"`
	Size      int64  `json:"size"`
	ETag      string `json:"etag"`
	ContentID string `json:"contentId"`
	Parts     int    `json:"parts"`
	Replayed  bool   `json:"replayed,omitempty"`
}

// ByteRange is an inclusive byte range (bytes=Start-End).
type ByteRange struct {
	Start int64 `json:"start"`
	End   int64 `json:"end"`
}

// GetOptions are the optional params of object.get.
type GetOptions struct {
	Path    string     `json:"path,omitempty"` // stream the body to this file (inside file_roots)
	Range   *ByteRange `json:"range,omitempty"`
	IfMatch string     `json:"ifMatch,omitempty"`
}

// Object is the result of object.get; Data is nil when the body went to a path.
type Object struct {
	Key          string            `json:"key"`
	Size         int64             `json:"size"`
	ETag         string            `json:"etag"`
	ContentID    string            `json:"contentId,omitempty"`
	ContentType  string            `json:"contentType,omitempty"`
	Metadata     map[string]string `json:"metadata"`
	LastModified *time.Time        `json:"lastModified,omitempty"`
	Data         []byte            `json:"data,omitempty"` // base64 on the wire
}

// SendOptions are the optional params of queue.send.
type SendOptions struct {
	Attributes      map[string]string `json:"attributes,omitempty"`
	DelaySeconds    int               `json:"delaySeconds,omitempty"`
	GroupID         string            `json:"groupId,omitempty"`
	DeduplicationID string            `json:"deduplicationId,omitempty"`
}

// SendResult is the result of queue.send.
type SendResult struct {
	MessageID string `json:"messageId"`
	Replayed  bool   `json:"replayed,omitempty"`
}

// ReceiveOptions are the params of queue.receive.
type ReceiveOptions struct {
	Max               int  `json:"max,omitempty"`         // 1–10, default 1
	WaitSeconds       int  `json:"waitSeconds,omitempty"` // long poll, 0–20
	VisibilitySeconds *int `json:"visibilitySeconds,omitempty"`
	AutoExtend        bool `json:"autoExtend,omitempty"`
}

// Message is a received queue message, leased until acked, nacked or its lease lapses.
type Message struct {
	MessageID    string            `json:"messageId"`
	Body         string            `json:"body"`
	Attributes   map[string]string `json:"attributes"`
	Receipt      string            `json:"receipt"`
	ReceiveCount int               `json:"receiveCount"`
	SentAt       time.Time         `json:"sentAt"`
}

// DeriveIdempotencyKey returns a stable idempotency key for an operation: prefix, a dash
// and the hex SHA-256 of the JSON encoding of inputs (struct fields in declaration order,
// map keys sorted). The same inputs give the same key in every run, so a retried
// operation (a re-run apply, a restarted job) does not act twice. prefix should be
// printable ASCII; keep it short (the key is at most 255 characters).
func DeriveIdempotencyKey(prefix string, inputs any) (string, error) {
	b, err := json.Marshal(inputs)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return prefix + "-" + hex.EncodeToString(sum[:]), nil
}
