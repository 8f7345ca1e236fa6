// Command rollout-provider-example does what an infrastructure-as-code dynamic provider
// does with rolloutd: it starts a Lambda alias rollout, streams its progress, and fails
// unless the deployment succeeds.
//
//	rollout-provider-example -function my-fn -alias live -target 7 -strategy canary -percent 10 -interval 5m
//
// The rollout is started with an idempotency key derived from the inputs, so a retried
// apply (same inputs) does not start a second deployment: it finds the first one and
// waits for it again. Pass -attempt N to deliberately start anew with the same inputs.
//
// Exit status: 0 the deployment Succeeded; 1 it Failed or was Stopped (the deployment's
// error code is printed); 2 bad usage; 3 a recoverable error (retry later); 4 a fatal
// error; 130 interrupted (SIGINT/SIGTERM). An interrupted run leaves the deployment
// running unless -stop-on-interrupt is given.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	rolloutd "github.com/rolloutd/rolloutd/clients/go"
)

const (
	exitOK          = 0
	exitDeployment  = 1
	exitUsage       = 2
	exitRecoverable = 3
	exitFatal       = 4
	exitInterrupted = 130
)

type options struct {
	socket          string
	params          rolloutd.StartParams
	key             string
	attempt         int
	timeout         time.Duration
	stopOnInterrupt bool
	jsonOutput      bool
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("rollout-provider-example", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := &options{}
	var strategy string
	var percent float64
	var interval, hookTimeout time.Duration
	var before, after string
	fs.StringVar(&o.socket, "socket", "", "daemon socket (default $"+rolloutd.EnvSocket+", else "+rolloutd.DefaultSocket+")")
	fs.StringVar(&o.params.Function, "function", "", "Lambda function name or ARN (required)")
	fs.StringVar(&o.params.Alias, "alias", "live", "alias to move")
	fs.StringVar(&o.params.TargetVersion, "target", "", "published version to move the alias to")
	fs.BoolVar(&o.params.Publish, "publish", false, "publish $LATEST and target the new version (instead of -target)")
	fs.StringVar(&strategy, "strategy", "canary", "allAtOnce | canary | linear")
	fs.Float64Var(&percent, "percent", 10, "traffic percent of the canary step / of each linear step")
	fs.DurationVar(&interval, "interval", time.Minute, "time between steps (whole seconds)")
	fs.StringVar(&before, "before-traffic", "", "beforeTraffic hook function")
	fs.StringVar(&after, "after-traffic", "", "afterTraffic hook function")
	fs.DurationVar(&hookTimeout, "hook-timeout", 0, "hook timeout (default: the daemon's, 1h)")
	fs.Func("alarm", "CloudWatch alarm that stops the rollout (repeatable)", func(v string) error {
		o.params.Alarms = append(o.params.Alarms, v)
		return nil
	})
	fs.StringVar(&o.params.OnConflict, "on-conflict", "", "fail (default) | rollback: what to do with an active deployment")
	fs.StringVar(&o.params.Engine, "engine", "", "native | codedeploy (default: the daemon's)")
	fs.StringVar(&o.key, "key", "", "idempotency key (default: derived from the inputs)")
	fs.IntVar(&o.attempt, "attempt", 0, "mixed into the derived key: bump it to start again with the same inputs")
	fs.DurationVar(&o.timeout, "timeout", 0, "give up waiting after this long (0: no limit)")
	fs.BoolVar(&o.stopOnInterrupt, "stop-on-interrupt", false, "on SIGINT/SIGTERM stop and roll back the deployment")
	fs.BoolVar(&o.jsonOutput, "json", false, "print the outputs as one JSON object on stdout (progress goes to stderr)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if o.params.Function == "" {
		return nil, errors.New("-function is required")
	}
	if (o.params.TargetVersion == "") == !o.params.Publish {
		return nil, errors.New("give exactly one of -target and -publish")
	}
	switch strategy {
	case rolloutd.StrategyAllAtOnce:
		o.params.Strategy = rolloutd.AllAtOnce()
	case rolloutd.StrategyCanary:
		o.params.Strategy = rolloutd.Canary(percent, interval)
	case rolloutd.StrategyLinear:
		o.params.Strategy = rolloutd.Linear(percent, interval)
	default:
		return nil, fmt.Errorf("-strategy must be allAtOnce, canary or linear, not %q", strategy)
	}
	if before != "" || after != "" || hookTimeout > 0 {
		o.params.Hooks = &rolloutd.Hooks{BeforeTraffic: before, AfterTraffic: after,
			TimeoutSeconds: int((hookTimeout + time.Second - 1) / time.Second)}
	}
	if o.key == "" {
		// The key covers every input, so a changed input is a new deployment while a
		// repeated apply of the same inputs finds the first one.
		key, err := rolloutd.DeriveIdempotencyKey("iac", struct {
			Params  rolloutd.StartParams `json:"params"`
			Attempt int                  `json:"attempt"`
		}{o.params, o.attempt})
		if err != nil {
			return nil, err
		}
		o.key = key
	}
	return o, nil
}

func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, "error:", err)
		}
		return exitUsage
	}
	progressOut := stdout
	if o.jsonOutput {
		progressOut = stderr
	}

	ctx, stopSignals := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stopSignals()
	if o.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.timeout)
		defer cancel()
	}

	p := &provider{socket: o.socket, stderr: stderr}
	defer p.close()

	var ref *rolloutd.DeploymentRef
	err = p.retry(ctx, "start", func(c *rolloutd.Client) (err error) {
		ref, err = c.Start(ctx, o.params, rolloutd.WithIdempotencyKey(o.key))
		return err
	})
	if err != nil {
		return p.fail(ctx, err, "", o)
	}
	if ref.Replayed {
		fmt.Fprintf(progressOut, "deployment %s was already started by an earlier apply with the same inputs (key %s); waiting for it\n",
			ref.DeploymentID, o.key)
	} else {
		fmt.Fprintf(progressOut, "started deployment %s (%s)\n", ref.DeploymentID, ref.Status)
	}

	var final *rolloutd.Deployment
	printed := map[string]bool{}
	err = p.retry(ctx, "wait", func(c *rolloutd.Client) (err error) {
		final, err = c.Wait(ctx, ref.DeploymentID, func(ev rolloutd.RolloutProgress) {
			// A wait repeated after a reconnect replays the history: print each event once.
			id := ev.Event.At.Format(time.RFC3339Nano) + "|" + ev.Event.Type + "|" + ev.Event.Detail
			if printed[id] {
				return
			}
			printed[id] = true
			line := fmt.Sprintf("%s  %-16s %-10s %5.1f%%", ev.Event.At.UTC().Format(time.RFC3339), ev.Event.Type, ev.Status, ev.Weight*100)
			if ev.Event.Detail != "" {
				line += "  " + ev.Event.Detail
			}
			fmt.Fprintln(progressOut, line)
		})
		return err
	})
	if err != nil {
		return p.fail(ctx, err, ref.DeploymentID, o)
	}

	if o.jsonOutput {
		out := map[string]any{"deploymentId": final.DeploymentID, "status": final.Status, "function": final.Function,
			"alias": final.Alias, "fromVersion": final.FromVersion, "toVersion": final.ToVersion,
			"rolledBack": final.RolledBack, "idempotencyKey": o.key, "replayed": ref.Replayed}
		if final.Error != nil {
			out["error"] = final.Error
		}
		_ = json.NewEncoder(stdout).Encode(out)
	}
	switch final.Status {
	case rolloutd.StatusSucceeded:
		fmt.Fprintf(progressOut, "deployment %s Succeeded: %s:%s now on version %s\n", final.DeploymentID, final.Function, final.Alias, final.ToVersion)
		return exitOK
	default:
		reason := "no error reported"
		if final.Error != nil {
			reason = final.Error.Code + ": " + final.Error.Message
		}
		rolled := ""
		if final.RolledBack {
			rolled = fmt.Sprintf(" (rolled back to version %s)", final.FromVersion)
		}
		fmt.Fprintf(stderr, "error: deployment %s %s: %s%s\n", final.DeploymentID, final.Status, reason, rolled)
		return exitDeployment
	}
}

// provider holds the connection, redialling after a lost connection.
type provider struct {
	socket string
	stderr io.Writer
	client *rolloutd.Client
}

func (p *provider) close() {
	if p.client != nil {
		p.client.Close()
	}
}

func (p *provider) conn(ctx context.Context) (*rolloutd.Client, error) {
	if p.client != nil {
		select {
		case <-p.client.Done():
			p.client.Close()
			p.client = nil
		default:
			return p.client, nil
		}
	}
	c, err := rolloutd.Dial(ctx, p.socket)
	if err != nil {
		return nil, err
	}
	p.client = c
	return c, nil
}

// retry runs op, retrying recoverable failures (throttling, a daemon restart, ...) a few
// times with backoff. Retrying is safe: start carries the idempotency key, wait is a read.
func (p *provider) retry(ctx context.Context, what string, op func(*rolloutd.Client) error) error {
	backoff := time.Second
	const attempts = 5
	var err error
	for attempt := 1; ; attempt++ {
		var c *rolloutd.Client
		if c, err = p.conn(ctx); err == nil {
			if err = op(c); err == nil {
				return nil
			}
		}
		retryable := ctx.Err() == nil && (rolloutd.IsRecoverable(err) || isDialError(err))
		if !retryable || attempt == attempts {
			return err
		}
		delay := backoff
		var rpcErr *rolloutd.Error
		if errors.As(err, &rpcErr) && rpcErr.RetryAfter > delay {
			delay = rpcErr.RetryAfter
		}
		fmt.Fprintf(p.stderr, "%s: %v; retrying in %s\n", what, err, delay)
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return err
		}
		backoff *= 2
	}
}

// isDialError tells a daemon that is not (yet) listening, worth retrying.
func isDialError(err error) bool {
	var opErr *net.OpError
	return errors.As(err, &opErr) && opErr.Op == "dial"
}

// fail reports err and returns the exit status; on an interrupt it optionally stops the
// deployment.
func (p *provider) fail(ctx context.Context, err error, deploymentID string, o *options) int {
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		fmt.Fprintln(p.stderr, "interrupted")
		if deploymentID == "" {
			return exitInterrupted
		}
		if !o.stopOnInterrupt {
			fmt.Fprintf(p.stderr, "deployment %s continues in the daemon; run again with the same inputs to wait for it\n", deploymentID)
			return exitInterrupted
		}
		stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if c, cerr := p.conn(stopCtx); cerr == nil {
			if ref, serr := c.Stop(stopCtx, deploymentID, rolloutd.WithIdempotencyKey(o.key+"-stop")); serr == nil {
				fmt.Fprintf(p.stderr, "deployment %s stopped and rolled back (%s)\n", deploymentID, ref.Status)
			} else {
				fmt.Fprintf(p.stderr, "could not stop deployment %s: %v\n", deploymentID, serr)
			}
		}
		return exitInterrupted
	}
	if deploymentID != "" {
		fmt.Fprintf(p.stderr, "error: waiting for deployment %s: %v\n", deploymentID, err)
	} else {
		fmt.Fprintln(p.stderr, "error:", err)
	}
	var rpcErr *rolloutd.Error
	if errors.As(err, &rpcErr) && rpcErr.ActiveDeploymentID != "" {
		fmt.Fprintf(p.stderr, "active deployment: %s (use -on-conflict rollback to replace it)\n", rpcErr.ActiveDeploymentID)
	}
	if rolloutd.IsRecoverable(err) || isDialError(err) {
		return exitRecoverable
	}
	return exitFatal
}
