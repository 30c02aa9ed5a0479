// Package plugincheck is `switchboard plugin check`: it starts a plugin
// binary, in any language, as the host does (pin, sandbox, go-plugin
// handshake with AutoMTLS, broker) and checks what the host relies on:
// Describe against Genesys Cloud's contract rules and the host's own
// checks, health, an Invoke of each action within its budget (given to the
// plugin as the call's deadline), a typed error and a graceful shutdown.
// Each check says what failed.
package plugincheck

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/switchboard-dev/switchboard/host/apierr"
	"github.com/switchboard-dev/switchboard/host/catalog"
	"github.com/switchboard-dev/switchboard/host/registry"
	"github.com/switchboard-dev/switchboard/host/sandbox"
	"github.com/switchboard-dev/switchboard/sdk/contract"
)

// Check is one check's outcome.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"` // what was seen, or what failed
}

// Options are how the plugin is started.
type Options struct {
	Process catalog.ProcessOptions // the sandbox, the launcher, the user
	Policy  sandbox.Policy
	Logger  hclog.Logger
}

// gracefulStop is how long a plugin may take to stop when asked: longer
// means an invocation kept running past its deadline, or the plugin does
// not serve go-plugin's controller.
const gracefulStop = 1500 * time.Millisecond

// Run checks the plugin at path. It returns every check made; it stops at
// the first check the next ones depend on.
func Run(ctx context.Context, path string, opts Options) []Check {
	var out []Check
	add := func(name string, err error, detail string) bool {
		c := Check{Name: name, OK: err == nil, Detail: detail}
		if err != nil {
			c.Detail = err.Error()
		}
		out = append(out, c)
		return err == nil
	}
	abs, err := filepath.Abs(path)
	var v *catalog.Verified
	if err == nil {
		v, err = catalog.Verify(catalog.Binary{Name: filepath.Base(abs), Path: abs})
	}
	if !add("binary", err, "") {
		return out
	}
	defer v.Close()
	out[len(out)-1].Detail = abs + ", sha256 " + v.SHA256

	root, err := os.MkdirTemp("", "switchboard-check-*")
	if err != nil {
		add("start", err, "")
		return out
	}
	defer os.RemoveAll(root)
	os.Chmod(root, 0o711)
	popts := opts.Process
	popts.SocketRoot, popts.Logger, popts.Sandbox = root, opts.Logger, opts.Policy
	began := time.Now()
	p, err := catalog.Start(ctx, v, popts)
	if err != nil {
		add("handshake and describe", err, "")
		return out
	}
	add("handshake and describe", nil, fmt.Sprintf("pid %d, plugin version %q, protocol %d, %d actions, in %v", p.PID(), p.Version(), p.Protocol(), len(p.Actions()), time.Since(began).Round(time.Millisecond)))
	killed := false
	defer func() {
		if !killed {
			p.Kill()
		}
	}()

	actions := checkActions(p.Actions(), add)
	hctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	add("health", p.Health(hctx), "grpc.health.v1 service \"plugin\" SERVING")
	cancel()

	for _, a := range actions {
		in := Example(a.InputSchemaJSON)
		ictx, cancel := context.WithTimeout(ctx, a.Timeout)
		outJSON, err := p.Invoke(ictx, &registry.Invocation{Action: a.Name, RequestID: "plugin-check", Input: in, ID: 1})
		cancel()
		name := "invoke " + a.Name
		var e *apierr.Error
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			add(name, fmt.Errorf("input %s: no answer within the action's %v budget, given to it as the call's deadline: it ignores its deadline, or its work takes longer", in, a.Timeout), "")
		case errors.As(err, &e) && e.Code != "plugin_error" && e.Code != "plugin_unavailable":
			add(name, nil, fmt.Sprintf("input %s: a typed error %d %s (the check cannot know a valid input)", in, e.Status, e.Code))
		case err != nil:
			add(name, fmt.Errorf("input %s: %v", in, err), "")
		default:
			var output any
			err := json.Unmarshal(outJSON, &output)
			if err == nil {
				err = a.ValidateOutput(output)
			}
			if err != nil {
				add(name, fmt.Errorf("input %s: the output %s breaks the output schema: %v", in, outJSON, err), "")
			} else {
				add(name, nil, fmt.Sprintf("input %s: output %s", in, outJSON))
			}
		}
	}

	// A typed error: the answer to an action the plugin does not have.
	ictx, cancel := context.WithTimeout(ctx, 5*time.Second)
	_, err = p.Invoke(ictx, &registry.Invocation{Action: "switchboardCheckNoSuchAction", RequestID: "plugin-check", Input: []byte(`{}`), ID: 2})
	cancel()
	var e *apierr.Error
	switch {
	case err == nil:
		add("typed error", errors.New("an action the plugin does not have answered as a success"), "")
	case errors.As(err, &e) && e.Code != "plugin_error" && e.Code != "plugin_unavailable" && e.Status >= 400 && e.Status < 600:
		add("typed error", nil, fmt.Sprintf("an unknown action answers %d %s", e.Status, e.Code))
	default:
		add("typed error", fmt.Errorf("an unknown action's error is not a typed Error (a google.rpc.Status whose one detail is switchboard.plugin.v1.Error): %v", err), "")
	}

	began = time.Now()
	stopped := make(chan error, 1)
	go func() { stopped <- p.Kill() }()
	select {
	case err := <-stopped:
		killed = true
		took := time.Since(began)
		if err == nil && took > gracefulStop {
			err = fmt.Errorf("it took %v to stop when asked: the host asks through go-plugin's controller (plugin.GRPCController Shutdown), waits 2 s, then kills it", took.Round(time.Millisecond))
		}
		add("shutdown", err, fmt.Sprintf("stopped in %v when asked", took.Round(time.Millisecond)))
	case <-time.After(30 * time.Second):
		add("shutdown", errors.New("it did not stop within 30 s"), "")
	}
	return out
}

// checkActions applies the host's load checks to each action described.
func checkActions(descs []registry.Description, add func(string, error, string) bool) []*registry.Action {
	var actions []*registry.Action
	if len(descs) == 0 {
		add("describe", errors.New("the plugin describes no action"), "")
	}
	for _, d := range descs {
		name := "contract " + d.Name
		if vs := contract.Check(d.InputSchema, d.OutputSchema); len(vs) > 0 {
			add(name, fmt.Errorf("breaks Genesys Cloud's data action contract rules: %w", contract.Join(vs)), "")
			continue
		}
		a, err := registry.NewAction(d, registry.Plugin{Name: "checked"}, nil, registry.Overrides{}, registry.Options{})
		if err != nil {
			add(name, err, "")
			continue
		}
		add(name, nil, fmt.Sprintf("schemas compile, budget %v", a.Timeout))
		actions = append(actions, a)
	}
	return actions
}
