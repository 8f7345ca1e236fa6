package rolloutd

import (
	"context"
	"encoding/json"
)

type deploymentIDParams struct {
	DeploymentID string `json:"deploymentId"`
}

// Ping calls sys.ping, the cheapest round trip.
func (c *Client) Ping(ctx context.Context) error {
	return c.Call(ctx, "sys.ping", nil, nil)
}

// Health calls sys.health.
func (c *Client) Health(ctx context.Context) (*Health, error) {
	var h Health
	if err := c.Call(ctx, "sys.health", nil, &h); err != nil {
		return nil, err
	}
	return &h, nil
}

// Plan calls rollout.plan: the steps and preflight checks of a rollout, without side effects.
func (c *Client) Plan(ctx context.Context, p StartParams, opts ...CallOption) (*Plan, error) {
	var plan Plan
	if err := c.Call(ctx, "rollout.plan", p, &plan, opts...); err != nil {
		return nil, err
	}
	return &plan, nil
}

// Start calls rollout.start. Use WithIdempotencyKey so that a retry does not start a
// second deployment; a replayed start has Replayed set.
func (c *Client) Start(ctx context.Context, p StartParams, opts ...CallOption) (*DeploymentRef, error) {
	return c.deploymentAction(ctx, "rollout.start", p, opts)
}

// Get calls rollout.get.
func (c *Client) Get(ctx context.Context, deploymentID string) (*Deployment, error) {
	var d Deployment
	if err := c.Call(ctx, "rollout.get", deploymentIDParams{deploymentID}, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// Wait calls rollout.wait and returns the deployment once it is terminal (Succeeded, Failed
// or Stopped: check Status; a Failed or Stopped deployment is not an error of the call).
// progress, when not nil, receives every rollout event. The wait is bounded by ctx and by
// the daemon's default limit (plan length + hook timeouts + margin); past the latter the
// error is an *Error with reason DeadlineExceeded whose Deployment holds the current state.
// WithParam("timeoutSeconds", s) sets an explicit limit.
func (c *Client) Wait(ctx context.Context, deploymentID string, progress func(RolloutProgress), opts ...CallOption) (*Deployment, error) {
	if progress != nil {
		opts = append(opts, WithRolloutProgress(progress))
	}
	var d Deployment
	if err := c.Call(ctx, "rollout.wait", deploymentIDParams{deploymentID}, &d, opts...); err != nil {
		return nil, err
	}
	return &d, nil
}

// Stop calls rollout.stop: stop and roll back (alias back on fromVersion).
func (c *Client) Stop(ctx context.Context, deploymentID string, opts ...CallOption) (*DeploymentRef, error) {
	return c.deploymentAction(ctx, "rollout.stop", deploymentIDParams{deploymentID}, opts)
}

// Promote calls rollout.promote: jump to 100% now.
func (c *Client) Promote(ctx context.Context, deploymentID string, opts ...CallOption) (*DeploymentRef, error) {
	return c.deploymentAction(ctx, "rollout.promote", deploymentIDParams{deploymentID}, opts)
}

// Pause calls rollout.pause.
func (c *Client) Pause(ctx context.Context, deploymentID string) (*DeploymentRef, error) {
	return c.deploymentAction(ctx, "rollout.pause", deploymentIDParams{deploymentID}, nil)
}

// Resume calls rollout.resume.
func (c *Client) Resume(ctx context.Context, deploymentID string) (*DeploymentRef, error) {
	return c.deploymentAction(ctx, "rollout.resume", deploymentIDParams{deploymentID}, nil)
}

func (c *Client) deploymentAction(ctx context.Context, method string, params any, opts []CallOption) (*DeploymentRef, error) {
	var ref DeploymentRef
	if err := c.Call(ctx, method, params, &ref, opts...); err != nil {
		return nil, err
	}
	return &ref, nil
}

// List calls rollout.list: deployments, newest first.
func (c *Client) List(ctx context.Context, filter ListFilter) ([]Deployment, error) {
	var out struct {
		Deployments []Deployment `json:"deployments"`
	}
	if err := c.Call(ctx, "rollout.list", filter, &out); err != nil {
		return nil, err
	}
	return out.Deployments, nil
}

// ReportHook calls rollout.reportHook (hooks that report asynchronously, CodeDeploy engine).
// hook is "beforeTraffic" or "afterTraffic", status "Succeeded" or "Failed".
func (c *Client) ReportHook(ctx context.Context, deploymentID, hook, status string) error {
	params := map[string]string{"deploymentId": deploymentID, "hook": hook, "status": status}
	return c.Call(ctx, "rollout.reportHook", params, nil)
}

type putParams struct {
	Key  string  `json:"key"`
	Text *string `json:"text,omitempty"`
	Data []byte  `json:"data,omitempty"`
	Path string  `json:"path,omitempty"`
	*PutOptions
}

// ObjectPutText stores text under key. o may be nil. Options: WithIdempotencyKey,
// WithObjectProgress.
func (c *Client) ObjectPutText(ctx context.Context, key, text string, o *PutOptions, opts ...CallOption) (*PutResult, error) {
	return c.objectPut(ctx, putParams{Key: key, Text: &text, PutOptions: o}, opts)
}

// ObjectPutBytes stores data (at most 8 MiB; larger bodies go through ObjectPutPath) under key.
func (c *Client) ObjectPutBytes(ctx context.Context, key string, data []byte, o *PutOptions, opts ...CallOption) (*PutResult, error) {
	if data == nil {
		data = []byte{}
	}
	return c.objectPut(ctx, putParams{Key: key, Data: data, PutOptions: o}, opts)
}

// ObjectPutPath uploads the file at path, which must lie inside the daemon's file_roots;
// the daemon streams it (multipart on S3).
func (c *Client) ObjectPutPath(ctx context.Context, key, path string, o *PutOptions, opts ...CallOption) (*PutResult, error) {
	return c.objectPut(ctx, putParams{Key: key, Path: path, PutOptions: o}, opts)
}

func (c *Client) objectPut(ctx context.Context, p putParams, opts []CallOption) (*PutResult, error) {
	var r PutResult
	if err := c.Call(ctx, "object.put", p, &r, opts...); err != nil {
		return nil, err
	}
	return &r, nil
}

// ObjectGet fetches key; with o.Path the body is written to that file (atomically) and
// Object.Data is nil. o may be nil.
func (c *Client) ObjectGet(ctx context.Context, key string, o *GetOptions, opts ...CallOption) (*Object, error) {
	params := struct {
		Key string `json:"key"`
		*GetOptions
	}{key, o}
	var obj Object
	if err := c.Call(ctx, "object.get", params, &obj, opts...); err != nil {
		return nil, err
	}
	return &obj, nil
}

// ObjectHead calls object.head: the metadata of key without its body (ErrNotFound when
// absent).
func (c *Client) ObjectHead(ctx context.Context, key string, opts ...CallOption) (*ObjectInfo, error) {
	var info ObjectInfo
	if err := c.Call(ctx, "object.head", keyParams{key}, &info, opts...); err != nil {
		return nil, err
	}
	return &info, nil
}

// ObjectDelete calls object.delete. Deleting an absent key succeeds. Option:
// WithIdempotencyKey.
func (c *Client) ObjectDelete(ctx context.Context, key string, opts ...CallOption) (*DeleteResult, error) {
	var r DeleteResult
	if err := c.Call(ctx, "object.delete", keyParams{key}, &r, opts...); err != nil {
		return nil, err
	}
	return &r, nil
}

// ObjectList calls object.list: one page of the keys under o.Prefix, in key order. While
// the listing's Cursor is non-empty, pass it back in o.Cursor for the next page.
func (c *Client) ObjectList(ctx context.Context, o ListObjectsOptions, opts ...CallOption) (*ObjectListing, error) {
	var l ObjectListing
	if err := c.Call(ctx, "object.list", o, &l, opts...); err != nil {
		return nil, err
	}
	if l.Objects == nil {
		l.Objects = []ObjectSummary{}
	}
	return &l, nil
}

type keyParams struct {
	Key string `json:"key"`
}

// QueueSend sends one message. o may be nil. Option: WithIdempotencyKey.
func (c *Client) QueueSend(ctx context.Context, body string, o *SendOptions, opts ...CallOption) (*SendResult, error) {
	params := struct {
		Body string `json:"body"`
		*SendOptions
	}{body, o}
	var r SendResult
	if err := c.Call(ctx, "queue.send", params, &r, opts...); err != nil {
		return nil, err
	}
	return &r, nil
}

// QueueSendBatch calls queue.sendBatch: any number of messages (sent in SQS batches of
// 10). The call fails only as a whole (e.g. a deadline); a message that could not be sent
// has an error in its result item (check each item's Err). Option: WithIdempotencyKey.
func (c *Client) QueueSendBatch(ctx context.Context, messages []OutgoingMessage, opts ...CallOption) (*SendBatchResult, error) {
	if messages == nil {
		messages = []OutgoingMessage{}
	}
	params := struct {
		Messages []OutgoingMessage `json:"messages"`
	}{messages}
	var r SendBatchResult
	if err := c.Call(ctx, "queue.sendBatch", params, &r, opts...); err != nil {
		return nil, err
	}
	return &r, nil
}

// QueueReceive receives up to o.Max messages, long-polling up to o.WaitSeconds.
func (c *Client) QueueReceive(ctx context.Context, o ReceiveOptions) ([]Message, error) {
	var out struct {
		Messages []Message `json:"messages"`
	}
	if err := c.Call(ctx, "queue.receive", o, &out); err != nil {
		return nil, err
	}
	return out.Messages, nil
}

// QueueAck deletes a received message.
func (c *Client) QueueAck(ctx context.Context, receipt string) error {
	return c.Call(ctx, "queue.ack", map[string]string{"receipt": receipt}, nil)
}

// QueueNack makes a received message visible again after delaySeconds.
func (c *Client) QueueNack(ctx context.Context, receipt string, delaySeconds int) error {
	params := map[string]any{"receipt": receipt, "delaySeconds": delaySeconds}
	return c.Call(ctx, "queue.nack", params, nil)
}

// QueueAckBatch calls queue.ackBatch: deletes received messages, one result per receipt
// in input order (check each item's Err).
func (c *Client) QueueAckBatch(ctx context.Context, receipts []string, opts ...CallOption) ([]AckItem, error) {
	if receipts == nil {
		receipts = []string{}
	}
	params := struct {
		Receipts []string `json:"receipts"`
	}{receipts}
	var out struct {
		Results []AckItem `json:"results"`
	}
	if err := c.Call(ctx, "queue.ackBatch", params, &out, opts...); err != nil {
		return nil, err
	}
	return out.Results, nil
}

// QueueExtend calls queue.extend: the received message stays invisible for
// visibilitySeconds from now (0–43200; 0 makes it visible at once).
func (c *Client) QueueExtend(ctx context.Context, receipt string, visibilitySeconds int, opts ...CallOption) error {
	params := struct {
		Receipt           string `json:"receipt"`
		VisibilitySeconds int    `json:"visibilitySeconds"`
	}{receipt, visibilitySeconds}
	return c.Call(ctx, "queue.extend", params, nil, opts...)
}

// SecretGet calls secret.get: an allowlisted secret, from the daemon's cache when fresh.
// o may be nil.
func (c *Client) SecretGet(ctx context.Context, name string, o *SecretGetOptions, opts ...CallOption) (*Secret, error) {
	params := struct {
		Name string `json:"name"`
		*SecretGetOptions
	}{name, o}
	var s Secret
	if err := c.Call(ctx, "secret.get", params, &s, opts...); err != nil {
		return nil, err
	}
	return &s, nil
}

// SecretPut calls secret.put, which the daemon documents and always refuses: the secret
// store is read-only, so the error satisfies errors.Is(err, ErrReadOnly). It exists so that
// every method of the protocol has a typed wrapper.
func (c *Client) SecretPut(ctx context.Context, name, value string, opts ...CallOption) error {
	params := struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	}{name, value}
	return c.Call(ctx, "secret.put", params, nil, opts...)
}

// ComputeHint calls compute.hint: facts about the machine (EC2 instance metadata over
// IMDSv2, else the OS's CPU count and memory).
func (c *Client) ComputeHint(ctx context.Context, opts ...CallOption) (*ComputeHint, error) {
	var h ComputeHint
	if err := c.Call(ctx, "compute.hint", nil, &h, opts...); err != nil {
		return nil, err
	}
	return &h, nil
}

// Discover calls rpc.discover and returns the OpenRPC document.
func (c *Client) Discover(ctx context.Context) (json.RawMessage, error) {
	var doc json.RawMessage
	if err := c.Call(ctx, "rpc.discover", nil, &doc); err != nil {
		return nil, err
	}
	return doc, nil
}
