package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Mode is how strictly a plugin is sandboxed.
type Mode string

// The modes of the config's sandbox key.
const (
	// BestEffort applies everything this kernel offers and reports the rest.
	BestEffort Mode = "best_effort"
	// Require refuses to start a plugin whose sandbox would be incomplete.
	Require Mode = "require"
	// Off starts the plugin without a sandbox. It still runs only its
	// verified bytes, with an empty environment, and never as root.
	Off Mode = "off"
)

// ParseMode checks a config value.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case BestEffort, Require, Off:
		return m, nil
	}
	return "", fmt.Errorf("sandbox %q: use %q, %q or %q", s, BestEffort, Require, Off)
}

// The features of a sandbox, as GET /admin/plugins names them.
const (
	// FeatureLandlockFS: the plugin reads and executes only the system
	// libraries and its sandbox_read paths, and writes only its private
	// directory. No config, audit log, plugins directory, /proc or other
	// plugin's directory.
	FeatureLandlockFS = "landlock_fs"
	// FeatureLandlockTCP: no TCP bind or connect at all.
	FeatureLandlockTCP = "landlock_tcp"
	// FeatureLandlockScope: no signals to, and no abstract UNIX socket
	// connections with, processes outside the plugin's sandbox.
	FeatureLandlockScope = "landlock_scope"
	// FeatureSeccomp: ptrace, process_vm_readv/writev, pidfd_getfd, sockets
	// other than UNIX ones, io_uring, bpf, perf_event_open, userfaultfd,
	// the kernel keyrings and mounting answer EPERM; other architectures'
	// system calls kill the process.
	FeatureSeccomp = "seccomp"
	// FeatureNoNewPrivs: no set-user-ID or file capability gains privilege.
	FeatureNoNewPrivs = "no_new_privs"
	// FeatureFDsClosed: no descriptor of the host's beyond standard input,
	// output and error and the plugin's own sealed executable.
	FeatureFDsClosed = "fds_closed"
	// FeatureRlimits: open files, processes and address space are bounded.
	FeatureRlimits = "rlimits"
)

// Limits are the resource limits of a plugin process (soft and hard).
// Zero leaves a limit as the host has it.
type Limits struct {
	OpenFiles    uint64 `json:"openFiles,omitempty"`    // RLIMIT_NOFILE
	Processes    uint64 `json:"processes,omitempty"`    // RLIMIT_NPROC: every process and thread of the plugin's user
	AddressSpace uint64 `json:"addressSpace,omitempty"` // RLIMIT_AS, in bytes
}

// Default limits of a plugin process. Processes counts every thread of the
// plugin's user, which is the host's own user when the host is not root.
const (
	DefaultOpenFiles    = 1024
	DefaultProcesses    = 1024
	DefaultAddressSpace = 8 << 30
)

// DefaultLimits returns the limits of a plugin that sets none.
func DefaultLimits() Limits {
	return Limits{OpenFiles: DefaultOpenFiles, Processes: DefaultProcesses, AddressSpace: DefaultAddressSpace}
}

// Policy is what the config asks of one plugin's sandbox.
type Policy struct {
	Mode Mode
	// ReadPaths are extra files and directories the plugin may read and
	// execute (an interpreter and its libraries); each must exist.
	ReadPaths []string
	Limits    Limits
}

// Capabilities are what this machine can apply. Probe finds them; tests
// inject others.
type Capabilities struct {
	// Launcher is the executable that applies a sandbox and then runs the
	// plugin; "" when there is none.
	Launcher string
	// LandlockABI is the kernel's Landlock ABI version; 0 means none.
	LandlockABI int
	// Seccomp reports whether seccomp filters can be installed.
	Seccomp bool
}

// Spec is what the launcher applies. The host decides it; the launcher
// carries it out exactly and fails when it cannot.
type Spec struct {
	// LandlockABI is the Landlock ABI whose rights are restricted; 0: no Landlock.
	LandlockABI int `json:"landlockABI,omitempty"`
	// ReadExec may be read and executed, beneath each path.
	ReadExec []string `json:"readExec,omitempty"`
	// Devices may be read and written (device files such as /dev/null).
	Devices []string `json:"devices,omitempty"`
	// ReadWrite may be read, written, created and removed, beneath each path.
	ReadWrite []string `json:"readWrite,omitempty"`
	// Connect holds the host's UNIX sockets the plugin connects to (the
	// go-plugin broker). Restricted only from Landlock ABI 9 on.
	Connect []string `json:"connect,omitempty"`
	Seccomp bool     `json:"seccomp,omitempty"`
	Limits  Limits   `json:"limits"`
}

// Plan is the sandbox of one plugin launch: what the launcher applies and
// what the policy asked for that this machine cannot give.
type Plan struct {
	Mode Mode
	// Launcher is the launcher to run; "" means the plugin is executed
	// directly (sandbox off, or no launcher under best_effort).
	Launcher string
	Spec     Spec
	Applied  []string // features, in a fixed order
	Missing  []string // "feature: why"
}

// systemReadExec are the system files every plugin may read and execute:
// shared libraries and the dynamic loader's cache (for plugins that are
// not static binaries), and time zones. None holds a secret.
var systemReadExec = []string{
	"/lib", "/lib64", "/usr/lib", "/usr/lib64",
	"/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d",
	"/etc/localtime", "/usr/share/zoneinfo",
}

// systemDevices are the device files every plugin may open.
var systemDevices = []string{"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom"}

// Landlock ABI versions that introduced what the sandbox uses.
const (
	abiFS    = 1
	abiTCP   = 4
	abiScope = 6
)

// NewPlan plans a plugin's sandbox. privateDir is the plugin's own
// read-write directory, hostSockets the directory of the host's sockets it
// connects to. With mode require, a sandbox that would be incomplete is an
// error naming what is missing; an extra read path that does not exist is
// an error in every mode.
func NewPlan(p Policy, caps Capabilities, privateDir, hostSockets string) (Plan, error) {
	if p.Mode == "" {
		p.Mode = BestEffort
	}
	plan := Plan{Mode: p.Mode}
	if p.Mode == Off {
		return plan, nil
	}
	var errs []error
	for _, path := range p.ReadPaths {
		if !filepath.IsAbs(path) {
			errs = append(errs, fmt.Errorf("sandbox_read %q: not an absolute path", path))
		} else if _, err := os.Stat(path); err != nil {
			errs = append(errs, fmt.Errorf("sandbox_read: %w", err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Plan{}, err
	}
	missing := func(feature, why string) { plan.Missing = append(plan.Missing, feature+": "+why) }
	if caps.Launcher == "" {
		why := "no sandbox launcher (install switchboard-sandbox beside switchboard, or set sandbox_launcher)"
		for _, f := range []string{FeatureLandlockFS, FeatureLandlockTCP, FeatureLandlockScope, FeatureSeccomp, FeatureNoNewPrivs, FeatureFDsClosed, FeatureRlimits} {
			missing(f, why)
		}
	} else {
		plan.Launcher = caps.Launcher
		plan.Spec = Spec{
			ReadWrite: []string{privateDir},
			Connect:   []string{hostSockets},
			Limits:    p.Limits,
		}
		plan.Applied = append(plan.Applied, FeatureNoNewPrivs, FeatureFDsClosed, FeatureRlimits)
		abi := caps.LandlockABI
		switch {
		case abi >= abiFS:
			plan.Spec.LandlockABI = abi
			plan.Spec.ReadExec = append(append([]string{}, systemReadExec...), p.ReadPaths...)
			plan.Spec.Devices = systemDevices
			plan.Applied = append(plan.Applied, FeatureLandlockFS)
		default:
			missing(FeatureLandlockFS, "this kernel has no Landlock (Linux 5.13+ with lsm=landlock)")
		}
		for _, f := range []struct {
			name string
			abi  int
		}{{FeatureLandlockTCP, abiTCP}, {FeatureLandlockScope, abiScope}} {
			if abi >= f.abi {
				plan.Applied = append(plan.Applied, f.name)
			} else {
				missing(f.name, fmt.Sprintf("this kernel's Landlock ABI is %d; it needs %d", abi, f.abi))
			}
		}
		if caps.Seccomp {
			plan.Spec.Seccomp = true
			plan.Applied = append(plan.Applied, FeatureSeccomp)
		} else {
			missing(FeatureSeccomp, "seccomp filters cannot be installed here")
		}
	}
	if p.Mode == Require && len(plan.Missing) > 0 {
		return Plan{}, fmt.Errorf("sandbox = %q, and this machine cannot give the plugin all of it: %s", Require, strings.Join(plan.Missing, "; "))
	}
	return plan, nil
}
