package rolloutd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

// exchange runs call against the fake server, checks that it sent method with exactly
// wantParams (compared as JSON values), answers with answer (a JSON result, or an error
// object after an "error:" prefix) and returns call's error.
func exchange(t *testing.T, s *fakeServer, call func() error, method, wantParams, answer string) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- call() }()
	m := s.next()
	if m.Method != method {
		t.Fatalf("sent %s, want %s", m.Method, method)
	}
	var got, want any
	if err := json.Unmarshal(m.Params, &got); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(wantParams), &want); err != nil {
		t.Fatalf("bad wantParams %s: %v", wantParams, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s params\n got %s\nwant %s", method, m.Params, wantParams)
	}
	if strings.HasPrefix(answer, "error:") {
		m.conn.send(map[string]any{"jsonrpc": "2.0", "id": m.ID, "error": json.RawMessage(strings.TrimPrefix(answer, "error:"))})
	} else {
		m.conn.send(map[string]any{"jsonrpc": "2.0", "id": m.ID, "result": json.RawMessage(answer)})
	}
	return <-done
}

func TestObjectHeadDeleteList(t *testing.T) {
	s := newFakeServer(t)
	c := s.dial(t)
	ctx := context.Background()

	var info *ObjectInfo
	err := exchange(t, s, func() (err error) { info, err = c.ObjectHead(ctx, "notes/a.txt"); return },
		"object.head", `{"key":"notes/a.txt"}`,
		`{"key":"notes/a.txt","size":5,"etag":"5d41402abc4b2a76b9719d911017c592","contentId":"sha256:ab",
		  "contentType":"text/plain","metadata":{"team":"ml"},"lastModified":"2025-01-02T03:04:05.250Z"}`)
	if err != nil {
		t.Fatal(err)
	}
	if info.Key != "notes/a.txt" || info.Size != 5 || info.ETag != "5d41402abc4b2a76b9719d911017c592" ||
		info.ContentID != "sha256:ab" || info.ContentType != "text/plain" || info.Metadata["team"] != "ml" ||
		info.LastModified == nil || info.LastModified.Nanosecond() != 250e6 {
		t.Fatalf("head %+v", info)
	}
	err = exchange(t, s, func() (err error) { info, err = c.ObjectHead(ctx, "missing"); return },
		"object.head", `{"key":"missing"}`,
		`error:{"code":-32011,"message":"no object missing","data":{"kind":"fatal","reason":"NotFound"}}`)
	if !errors.Is(err, ErrNotFound) || info != nil {
		t.Fatalf("absent head: %v %+v", err, info)
	}

	var del *DeleteResult
	err = exchange(t, s, func() (err error) { del, err = c.ObjectDelete(ctx, "notes/a.txt", WithIdempotencyKey("del-1")); return },
		"object.delete", `{"key":"notes/a.txt","idempotencyKey":"del-1"}`,
		`{"key":"notes/a.txt","deleted":true,"replayed":true}`)
	if err != nil || !del.Deleted || !del.Replayed || del.Key != "notes/a.txt" {
		t.Fatalf("delete %v %+v", err, del)
	}

	var page *ObjectListing
	err = exchange(t, s, func() (err error) {
		page, err = c.ObjectList(ctx, ListObjectsOptions{Prefix: "notes/", Limit: 2})
		return
	}, "object.list", `{"prefix":"notes/","limit":2}`,
		`{"objects":[{"key":"notes/a","size":1,"etag":"e1","lastModified":"2025-01-02T03:04:05Z"},
		             {"key":"notes/b","size":2,"etag":"e2","lastModified":"2025-01-02T03:04:06Z"}],"cursor":"c-2"}`)
	if err != nil || len(page.Objects) != 2 || page.Cursor != "c-2" || page.Objects[1].Key != "notes/b" ||
		page.Objects[1].Size != 2 || page.Objects[1].LastModified.Sub(page.Objects[0].LastModified) != time.Second {
		t.Fatalf("list %v %+v", err, page)
	}
	err = exchange(t, s, func() (err error) {
		page, err = c.ObjectList(ctx, ListObjectsOptions{Prefix: "notes/", Cursor: page.Cursor, Limit: 2})
		return
	}, "object.list", `{"prefix":"notes/","cursor":"c-2","limit":2}`, `{"objects":[]}`)
	if err != nil || page.Objects == nil || len(page.Objects) != 0 || page.Cursor != "" {
		t.Fatalf("last page %v %+v", err, page)
	}
	// The zero options list everything: no params at all.
	err = exchange(t, s, func() (err error) { page, err = c.ObjectList(ctx, ListObjectsOptions{}); return },
		"object.list", `{}`, `{"objects":[]}`)
	if err != nil {
		t.Fatal(err)
	}
}

func TestQueueBatchesAndExtend(t *testing.T) {
	s := newFakeServer(t)
	c := s.dial(t)
	ctx := context.Background()

	var sent *SendBatchResult
	msgs := []OutgoingMessage{
		{Body: "a"},
		{Body: "b", SendOptions: SendOptions{Attributes: map[string]string{"k": "v"}, DelaySeconds: 5, GroupID: "g", DeduplicationID: "d"}},
		{Body: strings.Repeat("x", 10)},
	}
	err := exchange(t, s, func() (err error) { sent, err = c.QueueSendBatch(ctx, msgs, WithIdempotencyKey("batch-1")); return },
		"queue.sendBatch",
		`{"messages":[{"body":"a"},{"body":"b","attributes":{"k":"v"},"delaySeconds":5,"groupId":"g","deduplicationId":"d"},
		  {"body":"xxxxxxxxxx"}],"idempotencyKey":"batch-1"}`,
		`{"results":[{"messageId":"m-1"},{"messageId":"m-2"},
		  {"error":{"code":-32016,"message":"message too large","data":{"kind":"fatal","reason":"TooLarge"}}}]}`)
	if err != nil || len(sent.Results) != 3 || sent.Replayed {
		t.Fatalf("sendBatch %v %+v", err, sent)
	}
	if sent.Results[0].MessageID != "m-1" || sent.Results[0].Err() != nil || sent.Results[1].MessageID != "m-2" {
		t.Fatalf("sent items %+v", sent.Results)
	}
	itemErr := sent.Results[2].Err()
	var e *Error
	if !errors.As(itemErr, &e) || !errors.Is(itemErr, ErrTooLarge) || IsRecoverable(itemErr) || e.Method != "queue.sendBatch" ||
		e.Code != CodeTooLarge || sent.Results[2].MessageID != "" {
		t.Fatalf("failed item: %#v", itemErr)
	}
	// A throttled item is recoverable; kind and reason default from the code when data lacks them.
	err = exchange(t, s, func() (err error) { sent, err = c.QueueSendBatch(ctx, []OutgoingMessage{{Body: "c"}}); return },
		"queue.sendBatch", `{"messages":[{"body":"c"}]}`,
		`{"results":[{"error":{"code":-32001,"message":"slow down"}}],"replayed":true}`)
	if err != nil || !sent.Replayed || !errors.Is(sent.Results[0].Err(), ErrThrottled) || !IsRecoverable(sent.Results[0].Err()) {
		t.Fatalf("throttled item: %v %+v", err, sent)
	}

	var acks []AckItem
	err = exchange(t, s, func() (err error) { acks, err = c.QueueAckBatch(ctx, []string{"r-1", "r-2"}); return },
		"queue.ackBatch", `{"receipts":["r-1","r-2"]}`,
		`{"results":[{"receipt":"r-1"},{"receipt":"r-2","error":{"code":-32011,"message":"receipt expired",
		  "data":{"kind":"fatal","reason":"NotFound"}}}]}`)
	if err != nil || len(acks) != 2 || acks[0].Receipt != "r-1" || acks[0].Err() != nil || acks[1].Receipt != "r-2" ||
		!errors.Is(acks[1].Err(), ErrNotFound) {
		t.Fatalf("ackBatch %v %+v", err, acks)
	}

	err = exchange(t, s, func() error { return c.QueueExtend(ctx, "r-1", 120) },
		"queue.extend", `{"receipt":"r-1","visibilitySeconds":120}`, `{}`)
	if err != nil {
		t.Fatal(err)
	}
	// 0 is sent (it makes the message visible at once), not omitted.
	err = exchange(t, s, func() error { return c.QueueExtend(ctx, "r-1", 0) },
		"queue.extend", `{"receipt":"r-1","visibilitySeconds":0}`, `{}`)
	if err != nil {
		t.Fatal(err)
	}
}

func TestSecretsAndComputeHint(t *testing.T) {
	s := newFakeServer(t)
	c := s.dial(t)
	ctx := context.Background()

	var sec *Secret
	err := exchange(t, s, func() (err error) { sec, err = c.SecretGet(ctx, "app/db", nil); return },
		"secret.get", `{"name":"app/db"}`,
		`{"name":"app/db","value":"hunter2","versionId":"v-1","versionStages":["AWSCURRENT"],"cached":true,"ageMs":1500,"stale":false}`)
	if err != nil || sec.Value != "hunter2" || sec.Binary != nil || sec.VersionID != "v-1" || !sec.Cached || sec.AgeMs != 1500 ||
		sec.Stale || len(sec.VersionStages) != 1 || sec.VersionStages[0] != VersionStageCurrent {
		t.Fatalf("secret %v %+v", err, sec)
	}
	err = exchange(t, s, func() (err error) {
		sec, err = c.SecretGet(ctx, "app/key", &SecretGetOptions{VersionStage: VersionStagePrevious, Refresh: true})
		return
	}, "secret.get", `{"name":"app/key","versionStage":"AWSPREVIOUS","refresh":true}`,
		`{"name":"app/key","binary":"AAEC","versionId":"v-0","versionStages":["AWSPREVIOUS"],"cached":false,"ageMs":0,"stale":true}`)
	if err != nil || sec.Value != "" || string(sec.Binary) != "\x00\x01\x02" || !sec.Stale || sec.Cached {
		t.Fatalf("binary secret %v %+v", err, sec)
	}
	err = exchange(t, s, func() (err error) { sec, err = c.SecretGet(ctx, "not/allowed", nil); return },
		"secret.get", `{"name":"not/allowed"}`,
		`error:{"code":-32010,"message":"not in the allowlist","data":{"kind":"fatal","reason":"ConfigInvalid"}}`)
	if !errors.Is(err, ErrConfigInvalid) || sec != nil {
		t.Fatalf("denied secret %v", err)
	}

	err = exchange(t, s, func() error { return c.SecretPut(ctx, "app/db", "new") },
		"secret.put", `{"name":"app/db","value":"new"}`,
		`error:{"code":-32015,"message":"the secret store is read-only","data":{"kind":"fatal","reason":"ReadOnly"}}`)
	if !errors.Is(err, ErrReadOnly) || IsRecoverable(err) {
		t.Fatalf("secret.put: %v", err)
	}

	var hint *ComputeHint
	err = exchange(t, s, func() (err error) { hint, err = c.ComputeHint(ctx); return },
		"compute.hint", `{}`, `{"provider":"local","source":"local","cpus":2,"memoryBytes":25769803776}`)
	if err != nil || hint.Provider != "local" || hint.Source != "local" || hint.CPUs != 2 || hint.MemoryBytes != 24<<30 ||
		hint.Interruption != nil || hint.Region != "" {
		t.Fatalf("local hint %v %+v", err, hint)
	}
	err = exchange(t, s, func() (err error) { hint, err = c.ComputeHint(ctx); return },
		"compute.hint", `{}`,
		`{"provider":"aws","source":"imdsv2","region":"us-west-2","availabilityZone":"us-west-2a","instanceId":"i-0abc",
		  "instanceType":"m7g.large","lifecycle":"spot","interruption":{"action":"terminate","time":"2025-01-02T03:06:05Z"},
		  "rebalanceRecommendedAt":"2025-01-02T03:04:05Z","cpus":2,"memoryBytes":8589934592}`)
	if err != nil || hint.Source != "imdsv2" || hint.InstanceID != "i-0abc" || hint.Lifecycle != "spot" || hint.Interruption == nil ||
		hint.Interruption.Action != "terminate" || hint.RebalanceRecommendedAt == nil ||
		hint.Interruption.Time.Sub(*hint.RebalanceRecommendedAt) != 2*time.Minute || hint.AvailabilityZone != "us-west-2a" {
		t.Fatalf("ec2 hint %v %+v", err, hint)
	}
}

// The contract is proto-json/rollout.openrpc.json at the root of the repository.
func loadOpenRPC(t *testing.T) map[string]any {
	t.Helper()
	path := filepath.Join("..", "..", "proto-json", "rollout.openrpc.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		if _, serr := os.Stat(filepath.Join("..", "..", "Package.swift")); serr != nil {
			t.Skipf("not inside a rolloutd checkout (no %s): %v", path, err)
		}
		t.Fatalf("the OpenRPC document is missing from the checkout: %v", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// checkSchema reports where v does not fit schema: JSON types, required members and, for
// objects with additionalProperties false, unknown members. $ref is followed into
// components/schemas; if/then, oneOf and string patterns are not checked.
func checkSchema(doc map[string]any, schema map[string]any, v any, at string) []string {
	if ref, ok := schema["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, "#/components/schemas/")
		target, _ := doc["components"].(map[string]any)["schemas"].(map[string]any)[name].(map[string]any)
		if target == nil {
			return []string{at + ": unresolved " + ref}
		}
		return checkSchema(doc, target, v, at)
	}
	var problems []string
	if types := schemaTypes(schema["type"]); len(types) > 0 && !fitsOne(types, v) {
		return []string{fmt.Sprintf("%s: %v is not %v", at, v, types)}
	}
	switch x := v.(type) {
	case map[string]any:
		props, _ := schema["properties"].(map[string]any)
		for _, r := range asStrings(schema["required"]) {
			if _, ok := x[r]; !ok {
				problems = append(problems, at+": missing required "+r)
			}
		}
		for k, member := range x {
			if sub, ok := props[k].(map[string]any); ok {
				problems = append(problems, checkSchema(doc, sub, member, at+"."+k)...)
			} else if extra, ok := schema["additionalProperties"].(map[string]any); ok {
				problems = append(problems, checkSchema(doc, extra, member, at+"."+k)...)
			} else if schema["additionalProperties"] == false {
				problems = append(problems, at+": undocumented member "+k)
			}
		}
	case []any:
		if items, ok := schema["items"].(map[string]any); ok {
			for i, item := range x {
				problems = append(problems, checkSchema(doc, items, item, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
	}
	return problems
}

func schemaTypes(t any) []string {
	if s, ok := t.(string); ok {
		return []string{s}
	}
	return asStrings(t)
}

func asStrings(v any) []string {
	list, _ := v.([]any)
	var out []string
	for _, item := range list {
		if s, ok := item.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func fitsOne(types []string, v any) bool {
	for _, t := range types {
		switch x := v.(type) {
		case string:
			if t == "string" {
				return true
			}
		case bool:
			if t == "boolean" {
				return true
			}
		case float64:
			if t == "number" || (t == "integer" && x == math.Trunc(x)) {
				return true
			}
		case map[string]any:
			if t == "object" {
				return true
			}
		case []any:
			if t == "array" {
				return true
			}
		case nil:
			if t == "null" {
				return true
			}
		}
	}
	return false
}

// wrapperCalls calls every typed method of Client once, with every option it has set, so
// that the params it sends can be checked against the contract. The key is the Go method.
func wrapperCalls(c *Client) map[string]func(context.Context) error {
	vis := 30
	full := StartParams{Function: "fn", Alias: "live", TargetVersion: "2", Publish: true, Strategy: Linear(10, time.Minute),
		Hooks: &Hooks{BeforeTraffic: "pre", AfterTraffic: "post", TimeoutSeconds: 60}, Alarms: []string{"errors"},
		NotifyTopicArn: "arn:aws:sns:us-west-2:123456789012:t", OnConflict: "rollback", Engine: "native"}
	put := &PutOptions{ContentType: "text/plain", Metadata: map[string]string{"a": "b"}, IfNoneMatch: "*", IfMatch: "e"}
	idem := WithIdempotencyKey("k-1")
	objProgress := WithObjectProgress(func(ObjectProgress) {})
	return map[string]func(context.Context) error{
		"Ping":     func(ctx context.Context) error { return c.Ping(ctx) },
		"Health":   func(ctx context.Context) (err error) { _, err = c.Health(ctx); return },
		"Discover": func(ctx context.Context) (err error) { _, err = c.Discover(ctx); return },
		"Plan":     func(ctx context.Context) (err error) { _, err = c.Plan(ctx, full); return },
		"Start":    func(ctx context.Context) (err error) { _, err = c.Start(ctx, full, idem); return },
		"Get":      func(ctx context.Context) (err error) { _, err = c.Get(ctx, "d-1"); return },
		"Wait": func(ctx context.Context) (err error) {
			_, err = c.Wait(ctx, "d-1", func(RolloutProgress) {}, WithParam("timeoutSeconds", 30))
			return
		},
		"Stop":    func(ctx context.Context) (err error) { _, err = c.Stop(ctx, "d-1", idem); return },
		"Promote": func(ctx context.Context) (err error) { _, err = c.Promote(ctx, "d-1", idem); return },
		"Pause":   func(ctx context.Context) (err error) { _, err = c.Pause(ctx, "d-1"); return },
		"Resume":  func(ctx context.Context) (err error) { _, err = c.Resume(ctx, "d-1"); return },
		"List": func(ctx context.Context) (err error) {
			_, err = c.List(ctx, ListFilter{Function: "fn", Alias: "live", Status: StatusInProgress})
			return
		},
		"ReportHook": func(ctx context.Context) error { return c.ReportHook(ctx, "d-1", "beforeTraffic", "Succeeded") },
		"ObjectPutText": func(ctx context.Context) (err error) {
			_, err = c.ObjectPutText(ctx, "k", "hi", put, idem, objProgress)
			return
		},
		"ObjectPutBytes": func(ctx context.Context) (err error) {
			_, err = c.ObjectPutBytes(ctx, "k", []byte{0, 1}, put, idem)
			return
		},
		"ObjectPutPath": func(ctx context.Context) (err error) {
			_, err = c.ObjectPutPath(ctx, "k", "/f", put, idem, objProgress)
			return
		},
		"ObjectGet": func(ctx context.Context) (err error) {
			_, err = c.ObjectGet(ctx, "k", &GetOptions{Path: "/f", Range: &ByteRange{Start: 0, End: 9}, IfMatch: "e"}, objProgress)
			return
		},
		"ObjectHead":   func(ctx context.Context) (err error) { _, err = c.ObjectHead(ctx, "k"); return },
		"ObjectDelete": func(ctx context.Context) (err error) { _, err = c.ObjectDelete(ctx, "k", idem); return },
		"ObjectList": func(ctx context.Context) (err error) {
			_, err = c.ObjectList(ctx, ListObjectsOptions{Prefix: "p/", Cursor: "c", Limit: 10})
			return
		},
		"QueueSend": func(ctx context.Context) (err error) {
			_, err = c.QueueSend(ctx, "b", &SendOptions{Attributes: map[string]string{"a": "b"}, DelaySeconds: 1, GroupID: "g",
				DeduplicationID: "d"}, idem)
			return
		},
		"QueueSendBatch": func(ctx context.Context) (err error) {
			_, err = c.QueueSendBatch(ctx, []OutgoingMessage{{Body: "a", SendOptions: SendOptions{Attributes: map[string]string{"a": "b"},
				DelaySeconds: 1, GroupID: "g", DeduplicationID: "d"}}, {Body: "b"}}, idem)
			return
		},
		"QueueReceive": func(ctx context.Context) (err error) {
			_, err = c.QueueReceive(ctx, ReceiveOptions{Max: 10, WaitSeconds: 1, VisibilitySeconds: &vis, AutoExtend: true})
			return
		},
		"QueueAck":      func(ctx context.Context) error { return c.QueueAck(ctx, "r") },
		"QueueAckBatch": func(ctx context.Context) (err error) { _, err = c.QueueAckBatch(ctx, []string{"r", "s"}); return },
		"QueueNack":     func(ctx context.Context) error { return c.QueueNack(ctx, "r", 5) },
		"QueueExtend":   func(ctx context.Context) error { return c.QueueExtend(ctx, "r", 60) },
		"SecretGet": func(ctx context.Context) (err error) {
			_, err = c.SecretGet(ctx, "s", &SecretGetOptions{VersionStage: VersionStagePrevious, Refresh: true})
			return
		},
		"SecretPut": func(ctx context.Context) error {
			if err := c.SecretPut(ctx, "s", "v"); !errors.Is(err, ErrReadOnly) {
				return fmt.Errorf("want ReadOnly, got %v", err)
			}
			return nil
		},
		"ComputeHint": func(ctx context.Context) (err error) { _, err = c.ComputeHint(ctx); return },
	}
}

// Methods of Client that are not typed wrappers of one protocol method.
var genericMethods = map[string]bool{"Call": true, "Notify": true, "Close": true, "Done": true, "Err": true}

// TestEveryDocumentedMethodHasAWrapper fails when proto-json/rollout.openrpc.json documents a
// method that no typed method of Client calls, when a typed method calls an undocumented
// method or sends params the contract does not allow, and when a typed method is missing
// from wrapperCalls (so that it is checked too).
func TestEveryDocumentedMethodHasAWrapper(t *testing.T) {
	doc := loadOpenRPC(t)
	documented := map[string]map[string]any{}
	for _, m := range doc["methods"].([]any) {
		method := m.(map[string]any)
		documented[method["name"].(string)] = method
	}
	if len(documented) < 28 {
		t.Fatalf("only %d methods in the OpenRPC document", len(documented))
	}

	s := newFakeServer(t)
	c := s.dial(t)
	calls := wrapperCalls(c)

	typ := reflect.TypeOf(c)
	for i := 0; i < typ.NumMethod(); i++ {
		name := typ.Method(i).Name
		if _, ok := calls[name]; !ok && !genericMethods[name] {
			t.Errorf("Client.%s is not in wrapperCalls: add it, so that its params are checked", name)
		}
	}

	// Answer every request: {} fits every typed result; secret.put always fails.
	sent := make(chan fakeMsg, 64)
	go func() {
		for m := range s.msgs {
			if m.Method == "secret.put" {
				m.fail(CodeReadOnly, "read-only", map[string]any{"kind": "fatal", "reason": "ReadOnly"})
			} else if len(m.ID) > 0 {
				m.reply(map[string]any{})
			}
			sent <- m
		}
	}()

	wrappedBy := map[string][]string{}
	names := make([]string, 0, len(calls))
	for name := range calls {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err := calls[name](ctx)
		cancel()
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		m := <-sent
		wrappedBy[m.Method] = append(wrappedBy[m.Method], name)
		method, ok := documented[m.Method]
		if !ok {
			t.Errorf("Client.%s calls %s, which the OpenRPC document does not define", name, m.Method)
			continue
		}
		var params map[string]any
		if err := json.Unmarshal(m.Params, &params); err != nil {
			t.Fatal(err)
		}
		declared := map[string]bool{}
		for _, p := range method["params"].([]any) {
			param := p.(map[string]any)
			pname := param["name"].(string)
			declared[pname] = true
			value, present := params[pname]
			if param["required"] == true && !present {
				t.Errorf("Client.%s: %s without its required param %s", name, m.Method, pname)
			}
			if present {
				schema, _ := param["schema"].(map[string]any)
				for _, problem := range checkSchema(doc, schema, value, m.Method+"."+pname) {
					t.Errorf("Client.%s: %s", name, problem)
				}
			}
		}
		for pname := range params {
			if !declared[pname] {
				t.Errorf("Client.%s sends %s the undocumented param %s", name, m.Method, pname)
			}
		}
	}

	var missing []string
	for method := range documented {
		if len(wrappedBy[method]) == 0 {
			missing = append(missing, method)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("documented methods without a typed wrapper: %s", strings.Join(missing, ", "))
	}
}
