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
	Owner        string           `json:"owner,omitempty"`
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
		Fleet       *FleetHealth     `json:"fleet,omitempty"`
	} `json:"capabilities"`
	Credentials *struct {
		Source    string     `json:"source"`
		ExpiresAt *time.Time `json:"expiresAt,omitempty"`
	} `json:"credentials,omitempty"`
}

// FleetHealth is sys.health's capabilities.fleet, present in fleet mode (SPEC §11).
type FleetHealth struct {
	OK        bool   `json:"ok"`
	Detail    string `json:"detail"`
	NodeID    string `json:"nodeId"`
	Owned     int    `json:"owned"`
	Adopted   int    `json:"adopted"`
	LastError string `json:"lastError,omitempty"`
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

// ObjectInfo is the result of object.head: an object's metadata, without the body.
type ObjectInfo struct {
	Key          string            `json:"key"`
	Size         int64             `json:"size"`
	ETag         string            `json:"etag"`
	ContentID    string            `json:"contentId,omitempty"`
	ContentType  string            `json:"contentType,omitempty"`
	Metadata     map[string]string `json:"metadata"`
	LastModified *time.Time        `json:"lastModified,omitempty"`
}

// DeleteResult is the result of object.delete (Deleted is always true: deleting an absent
// key succeeds).
type DeleteResult struct {
	Key      string `json:"key"`
	Deleted  bool   `json:"deleted"`
	Replayed bool   `json:"replayed,omitempty"`
}

// ListObjectsOptions are the params of object.list; the zero value lists the first page of
// every key.
type ListObjectsOptions struct {
	Prefix string `json:"prefix,omitempty"`
	Cursor string `json:"cursor,omitempty"` // ObjectListing.Cursor of the previous page
	Limit  int    `json:"limit,omitempty"`  // page size, 1–1000 (default 1000)
}

// ObjectSummary is one entry of object.list.
type ObjectSummary struct {
	Key          string    `json:"key"`
	Size         int64     `json:"size"`
	ETag         string    `json:"etag"`
	LastModified time.Time `json:"lastModified"`
}

// ObjectListing is one page of object.list. Cursor is non-empty when more objects follow:
// pass it as ListObjectsOptions.Cursor to get the next page.
type ObjectListing struct {
	Objects []ObjectSummary `json:"objects"`
	Cursor  string          `json:"cursor,omitempty"`
}

// OutgoingMessage is one message of queue.sendBatch: the params of queue.send.
type OutgoingMessage struct {
	Body string `json:"body"`
	SendOptions
}

// BatchItemError is the error of one item of a batch (queue.sendBatch, queue.ackBatch),
// shaped like a JSON-RPC error object. The items' Err methods turn it into an *Error for
// errors.Is.
type BatchItemError struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

// SendBatchItem is the outcome of one message of queue.sendBatch: MessageID when it was
// sent, else Error.
type SendBatchItem struct {
	MessageID string          `json:"messageId,omitempty"`
	Error     *BatchItemError `json:"error,omitempty"`
}

// Err is nil when the message was sent, else the item's error as an *Error
// (errors.Is(item.Err(), rolloutd.ErrTooLarge), IsRecoverable, ...).
func (i SendBatchItem) Err() error { return i.Error.err("queue.sendBatch") }

// SendBatchResult is the result of queue.sendBatch: one item per message, in input order.
type SendBatchResult struct {
	Results  []SendBatchItem `json:"results"`
	Replayed bool            `json:"replayed,omitempty"`
}

// AckItem is the outcome of one receipt of queue.ackBatch; Error is set when it failed.
type AckItem struct {
	Receipt string          `json:"receipt"`
	Error   *BatchItemError `json:"error,omitempty"`
}

// Err is nil when the message was deleted, else the item's error as an *Error.
func (i AckItem) Err() error { return i.Error.err("queue.ackBatch") }

func (b *BatchItemError) err(method string) error {
	if b == nil {
		return nil
	}
	return newError(method, &wireError{Code: b.Code, Message: b.Message, Data: b.Data})
}

// Secret version stages for SecretGetOptions.VersionStage.
const (
	VersionStageCurrent  = "AWSCURRENT"
	VersionStagePrevious = "AWSPREVIOUS"
)

// SecretGetOptions are the optional params of secret.get.
type SecretGetOptions struct {
	VersionStage string `json:"versionStage,omitempty"` // VersionStageCurrent (default) or VersionStagePrevious
	Refresh      bool   `json:"refresh,omitempty"`      // bypass the daemon's cache
}

// Secret is the result of secret.get: Value holds a SecretString, Binary (non-nil) a
// SecretBinary. Stale is true when a refresh failed and the last good value was returned.
type Secret struct {
	Name          string   `json:"name"`
	Value         string   `json:"value,omitempty"`
	Binary        []byte   `json:"binary,omitempty"` // base64 on the wire
	VersionID     string   `json:"versionId"`
	VersionStages []string `json:"versionStages"`
	Cached        bool     `json:"cached"`
	AgeMs         int64    `json:"ageMs"`
	Stale         bool     `json:"stale"`
}

// SpotInterruption is a spot instance's interruption notice (spot/instance-action).
type SpotInterruption struct {
	Action string    `json:"action"` // stop, terminate or hibernate
	Time   time.Time `json:"time"`
}

// ComputeHint is the result of compute.hint: facts about the machine, from IMDSv2 on EC2
// (Source "imdsv2"), else from the OS (Source "local", with only CPUs and MemoryBytes).
type ComputeHint struct {
	Provider               string            `json:"provider"` // "aws" | "local"
	Source                 string            `json:"source"`   // "imdsv2" | "local"
	Region                 string            `json:"region,omitempty"`
	AvailabilityZone       string            `json:"availabilityZone,omitempty"`
	InstanceID             string            `json:"instanceId,omitempty"`
	InstanceType           string            `json:"instanceType,omitempty"`
	Lifecycle              string            `json:"lifecycle,omitempty"` // "spot" | "on-demand"
	Interruption           *SpotInterruption `json:"interruption,omitempty"`
	RebalanceRecommendedAt *time.Time        `json:"rebalanceRecommendedAt,omitempty"`
	CPUs                   int               `json:"cpus"`
	MemoryBytes            int64             `json:"memoryBytes"`
}
