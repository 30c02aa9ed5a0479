package catalog

import (
	"errors"

	"github.com/switchboard-dev/switchboard/host/sandbox"
)

// Plugin states, as the admin API shows them.
const (
	StateStarting   = "starting"   // first start in progress
	StateServing    = "serving"    // running and registered
	StateRestarting = "restarting" // no process runs; a restart is scheduled
	StateFailed     = "failed"     // crash loop: not restarted until the file changes or a reload
	StateRefused    = "refused"    // never served: could not be verified, started or registered
)

// PluginView is one plugin as the admin API and `switchboard plugins` show it.
type PluginView struct {
	Name    string `json:"name"`
	Path    string `json:"path"`
	SHA256  string `json:"sha256"`
	Version string `json:"version"`
	PID     int    `json:"pid"` // of the first process; 0 when none runs
	// PIDs are the processes serving it (plugin { processes = N }).
	PIDs     []int    `json:"pids,omitempty"`
	State    string   `json:"state"`
	Restarts int      `json:"restarts"`
	Actions  []string `json:"actions"`
	// ActionVersions are the versions the actions declare, by action.
	ActionVersions map[string]string `json:"actionVersions,omitempty"`
	// Pinned reports whether the config pins the plugin's SHA-256.
	Pinned bool `json:"pinned"`
	// Sandbox is what the running processes were started in; nil when none runs.
	Sandbox *SandboxView `json:"sandbox,omitempty"`
	Error   string       `json:"error,omitempty"`
}

// SandboxView is what a plugin process runs in, as the admin API shows it.
type SandboxView struct {
	Mode    sandbox.Mode `json:"mode"`
	Applied []string     `json:"applied"`
	Missing []string     `json:"missing,omitempty"`
	UID     int          `json:"uid"`
	GID     int          `json:"gid"`
}

// Problem is a plugin that could not be used, and why.
type Problem struct {
	Plugin string
	Err    error
}

func (p Problem) Error() string { return p.Plugin + ": " + p.Err.Error() }

// ErrNoPlugin is returned by Reload for a name no plugin file has.
var ErrNoPlugin = errors.New("no plugin by that name")

// view is a slot as readers see it. It runs on the supervisor's goroutine.
func (s *Supervisor) view(sl *slot) PluginView {
	v := PluginView{Name: sl.name, Path: sl.path, SHA256: sl.sha256, State: sl.state, Restarts: sl.restarts, Pinned: s.pinned(sl.name)}
	v.Actions = make([]string, 0, len(sl.actions))
	for _, a := range sl.actions {
		v.Actions = append(v.Actions, a.Name)
		if a.Version != "" {
			if v.ActionVersions == nil {
				v.ActionVersions = map[string]string{}
			}
			v.ActionVersions[a.Name] = a.Version
		}
	}
	for _, in := range sl.instances {
		if in.proc == nil {
			continue
		}
		if v.PID == 0 {
			sb := in.proc.Sandbox()
			v.PID, v.Version, v.Sandbox = in.proc.PID(), in.proc.Version(), &sb
		}
		v.PIDs = append(v.PIDs, in.proc.PID())
	}
	if sl.err != nil {
		v.Error = sl.err.Error()
	}
	return v
}
