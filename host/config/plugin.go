package config

import (
	"encoding/hex"
	"errors"
	"path/filepath"
	"slices"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/switchboard-dev/switchboard/host/sandbox"
)

// Plugin is the config of one plugin binary.
type Plugin struct {
	// Pins are the SHA-256 (hex, lower case) a binary of this name may
	// have: one, or several while a rollout replaces one release with the
	// next. None: not pinned.
	Pins []string
	// Connections are the connections the operator grants the plugin: an
	// action may call a connection only if it declares it (Uses) and it is
	// granted here. Nil: none (under --dev, what the plugin declares).
	Connections []string
	// Sandbox is the plugin's sandbox mode; "" means the top-level one.
	Sandbox sandbox.Mode
	// SandboxRead are extra paths the plugin may read and execute.
	SandboxRead []string
	// Limits are the plugin process's resource limits.
	Limits sandbox.Limits
	// UID and GID override PluginUID and PluginGID; 0: those.
	UID, GID int
	// GOMAXPROCS of the plugin process. Default 1: a plugin mostly waits on
	// the host and downstream APIs, and one OS thread of Go scheduler saves
	// the cross-thread wake-ups that dominate a local gRPC call.
	GOMAXPROCS int
	// MaxConcurrency bounds the requests in flight to the plugin (a
	// bulkhead); beyond it requests answer 503 at once. 0: no bound.
	MaxConcurrency int
	// Processes is how many processes of the plugin serve, requests spread
	// over them, so that one crash fails only what was in flight in it.
	// Default 1.
	Processes int
	// RestartWait is how long a request that finds no process running (the
	// plugin restarts) waits for one, within its own budget. Default 1 s.
	RestartWait time.Duration
}

// Pinned reports whether the config pins the binary.
func (p Plugin) Pinned() bool { return len(p.Pins) > 0 }

// Accepts reports whether a binary with this SHA-256 (hex, lower case) may
// run: it is one of the pins, or there are none.
func (p Plugin) Accepts(sum string) bool { return len(p.Pins) == 0 || slices.Contains(p.Pins, sum) }

// parsePins reads sha256 = "…" or sha256 = ["…", "…"].
func parsePins(v cty.Value) ([]string, error) {
	if v == cty.NilVal || v.IsNull() {
		return nil, nil
	}
	var raw []string
	switch t := v.Type(); {
	case t == cty.String:
		raw = []string{v.AsString()}
	case t.IsTupleType() || t.IsListType():
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			if e.IsNull() || e.Type() != cty.String {
				return nil, errors.New("sha256 holds hex strings only")
			}
			raw = append(raw, e.AsString())
		}
		if len(raw) == 0 {
			return nil, errors.New("sha256 = []: give at least one hash, or leave sha256 out")
		}
	default:
		return nil, errors.New(`sha256 is one hash or a list of them: sha256 = "…" or sha256 = ["…", "…"]`)
	}
	pins := make([]string, 0, len(raw))
	for _, s := range raw {
		sum, err := hex.DecodeString(s)
		if err != nil || len(sum) != 32 {
			return nil, errors.New("sha256 must be 64 hex digits (see `switchboard checksum FILE`)")
		}
		if pin := hex.EncodeToString(sum); !slices.Contains(pins, pin) {
			pins = append(pins, pin)
		}
	}
	return pins, nil
}

// DefaultPluginGOMAXPROCS is the GOMAXPROCS of plugins that set none.
const DefaultPluginGOMAXPROCS = 1

// DefaultPluginUser is the uid and gid plugins run as when the host is root
// (nobody).
const DefaultPluginUser = 65534

// DefaultRestartWait is the restart_wait of plugins that set none.
const DefaultRestartWait = time.Second

// DefaultPlugin is the config of a plugin binary that has no plugin block.
func DefaultPlugin() Plugin {
	return Plugin{GOMAXPROCS: DefaultPluginGOMAXPROCS, Limits: sandbox.DefaultLimits(), Processes: 1, RestartWait: DefaultRestartWait}
}

type pluginBlock struct {
	Name        string       `hcl:"name,label"`
	SHA256      cty.Value    `hcl:"sha256,optional"`
	GOMAXPROCS  *int         `hcl:"gomaxprocs,optional"`
	MaxConc     *int         `hcl:"max_concurrency,optional"`
	Connections []string     `hcl:"connections,optional"`
	Sandbox     *string      `hcl:"sandbox,optional"`
	SandboxRead []string     `hcl:"sandbox_read,optional"`
	UID         *int         `hcl:"uid,optional"`
	GID         *int         `hcl:"gid,optional"`
	Limits      *limitsBlock `hcl:"limits,block"`
	Processes   *int         `hcl:"processes,optional"`
	RestartWait durationAttr `hcl:"restart_wait,optional"`
	Range       hcl.Range    `hcl:",def_range"`
}

type limitsBlock struct {
	OpenFiles      *int64 `hcl:"open_files,optional"`
	Processes      *int64 `hcl:"processes,optional"`
	AddressSpaceMB *int64 `hcl:"address_space_mb,optional"`
}

// plugin checks one plugin block and fills in its defaults.
func (p *pluginBlock) plugin() (Plugin, error) {
	var errs []error
	pc := DefaultPlugin()
	pc.Connections, pc.SandboxRead = p.Connections, p.SandboxRead
	if p.Sandbox != nil {
		m, err := sandbox.ParseMode(*p.Sandbox)
		if err != nil {
			errs = append(errs, errAt(p.Range, "plugin %q: %v", p.Name, err))
		}
		pc.Sandbox = m
	}
	for _, path := range p.SandboxRead {
		if !filepath.IsAbs(path) {
			errs = append(errs, errAt(p.Range, "plugin %q: sandbox_read %q: give an absolute path", p.Name, path))
		}
	}
	if err := checkID(&pc.UID, p.UID, "uid"); err != nil {
		errs = append(errs, errAt(p.Range, "plugin %q: %v", p.Name, err))
	}
	if err := checkID(&pc.GID, p.GID, "gid"); err != nil {
		errs = append(errs, errAt(p.Range, "plugin %q: %v", p.Name, err))
	}
	if l := p.Limits; l != nil {
		for _, v := range []struct {
			dst  *uint64
			src  *int64
			name string
			unit uint64
		}{
			{&pc.Limits.OpenFiles, l.OpenFiles, "open_files", 1},
			{&pc.Limits.Processes, l.Processes, "processes", 1},
			{&pc.Limits.AddressSpace, l.AddressSpaceMB, "address_space_mb", 1 << 20},
		} {
			if v.src == nil {
				continue
			}
			if *v.src < 16 || *v.src > 1<<30 {
				errs = append(errs, errAt(p.Range, "plugin %q: limits %s must be between 16 and %d", p.Name, v.name, 1<<30))
			}
			*v.dst = uint64(*v.src) * v.unit
		}
	}
	if pins, err := parsePins(p.SHA256); err != nil {
		errs = append(errs, errAt(p.Range, "plugin %q: %v", p.Name, err))
	} else {
		pc.Pins = pins
	}
	if p.GOMAXPROCS != nil {
		if *p.GOMAXPROCS < 1 || *p.GOMAXPROCS > 1024 {
			errs = append(errs, errAt(p.Range, "plugin %q: gomaxprocs must be between 1 and 1024", p.Name))
		}
		pc.GOMAXPROCS = *p.GOMAXPROCS
	}
	if p.MaxConc != nil {
		if *p.MaxConc < 1 {
			errs = append(errs, errAt(p.Range, "plugin %q: max_concurrency must be at least 1", p.Name))
		}
		pc.MaxConcurrency = *p.MaxConc
	}
	if p.Processes != nil {
		if *p.Processes < 1 || *p.Processes > 64 {
			errs = append(errs, errAt(p.Range, "plugin %q: processes must be between 1 and 64", p.Name))
		}
		pc.Processes = *p.Processes
	}
	if err := parseDuration(&pc.RestartWait, p.RestartWait, "restart_wait", 0, MaxActionTimeout); err != nil {
		errs = append(errs, errAt(p.Range, "plugin %q: %v", p.Name, err))
	}
	if err := errors.Join(errs...); err != nil {
		return Plugin{}, err
	}
	return pc, nil
}
