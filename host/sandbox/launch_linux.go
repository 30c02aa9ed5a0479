package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"unsafe"

	seccomp "github.com/elastic/go-seccomp-bpf"
	"github.com/elastic/go-seccomp-bpf/arch"
	"github.com/landlock-lsm/go-landlock/landlock"
	ll "github.com/landlock-lsm/go-landlock/landlock/syscall"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// LauncherName is the name the launcher runs under: the switchboard-sandbox
// binary, or switchboard itself executed with this argv[0].
const LauncherName = "switchboard-sandbox"

// The descriptors the host hands the launcher, and the variable that
// carries its Spec (removed before the plugin runs).
const (
	fdPlugin = 3 // the sealed plugin executable; stays open for scripts, whose interpreter reads it
	fdReport = 4 // the report pipe: an error text, or nothing and EOF at exec
	fdSelf   = 5 // the launcher's own executable, which the host ran as /proc/self/fd/5
	specEnv  = "SWITCHBOARD_SANDBOX"
)

// IsLauncher reports whether this process was started as the launcher.
func IsLauncher() bool { return len(os.Args) > 0 && filepath.Base(os.Args[0]) == LauncherName }

// Launch applies the sandbox the host asked for to this process and executes
// the plugin in it. It never returns: on any failure it reports the error to
// the host and exits with status 126.
func Launch() {
	// Landlock, no_new_privs and the seccomp filter are properties of one
	// thread; execve keeps only the calling thread, so every step runs on
	// this one, which is never unlocked.
	runtime.LockOSThread()
	err := launch()
	msg := []byte(fmt.Sprintf("%s: %v", LauncherName, err))
	if _, werr := unix.Write(fdReport, msg); werr != nil {
		fmt.Fprintf(os.Stderr, "%s\n", msg) // run by hand, not by a host
	}
	os.Exit(126)
}

func launch() error {
	raw, ok := os.LookupEnv(specEnv)
	if !ok || len(os.Args) < 2 {
		return errors.New("the switchboard host runs this to sandbox its plugins; it is not meant to be run by hand")
	}
	var spec Spec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		return fmt.Errorf("reading the sandbox spec: %w", err)
	}
	env := make([]string, 0, len(os.Environ()))
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, specEnv+"=") {
			env = append(env, kv)
		}
	}
	// Every descriptor from the report pipe up closes at exec: the plugin
	// keeps only standard input, output, error and its own executable.
	if err := unix.CloseRange(fdReport, math.MaxUint32, unix.CLOSE_RANGE_CLOEXEC); err != nil {
		return fmt.Errorf("closing inherited descriptors: %w", err)
	}
	if err := setLimits(spec.Limits); err != nil {
		return err
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("no_new_privs: %w", err)
	}
	if spec.LandlockABI > 0 {
		if err := restrictLandlock(spec); err != nil {
			return fmt.Errorf("landlock: %w", err)
		}
	}
	if spec.Seccomp {
		if err := installSeccomp(); err != nil {
			return fmt.Errorf("seccomp: %w", err)
		}
	}
	// The kernel runs what descriptor 3 holds, which no one can change.
	err := syscall.Exec(fmt.Sprintf("/proc/self/fd/%d", fdPlugin), os.Args[1:], env)
	return fmt.Errorf("executing the plugin: %w", err)
}

func setLimits(l Limits) error {
	for _, r := range []struct {
		name     string
		resource int
		value    uint64
	}{
		{"open files", unix.RLIMIT_NOFILE, l.OpenFiles},
		{"processes", unix.RLIMIT_NPROC, l.Processes},
		{"address space", unix.RLIMIT_AS, l.AddressSpace},
	} {
		if r.value == 0 {
			continue
		}
		var cur syscall.Rlimit
		if err := syscall.Getrlimit(r.resource, &cur); err != nil {
			return fmt.Errorf("limit on %s: %w", r.name, err)
		}
		v := min(r.value, cur.Max) // raising a hard limit needs privilege
		// syscall.Setrlimit, not unix's: for open files it also stops the Go
		// runtime from restoring its own soft limit at exec.
		if err := syscall.Setrlimit(r.resource, &syscall.Rlimit{Cur: v, Max: v}); err != nil {
			return fmt.Errorf("limit on %s: %w", r.name, err)
		}
	}
	return nil
}

// landlockABIs are go-landlock's presets, by ABI version.
var landlockABIs = []landlock.Config{landlock.V1, landlock.V2, landlock.V3, landlock.V4, landlock.V5, landlock.V6, landlock.V7, landlock.V8, landlock.V9, landlock.V10, landlock.V11}

func restrictLandlock(spec Spec) error {
	abi := min(spec.LandlockABI, len(landlockABIs))
	cfg := landlockABIs[abi-1]
	if abi >= 7 {
		cfg = cfg.EnableLoggingForSubprocesses() // the kernel audits the plugin's denials
	}
	var rules []landlock.Rule
	for _, p := range spec.ReadExec {
		fi, err := os.Stat(p)
		switch {
		case err != nil:
			continue // a system path this machine lacks; sandbox_read paths were checked by the host
		case fi.IsDir():
			rules = append(rules, landlock.RODirs(p))
		default:
			rules = append(rules, landlock.ROFiles(p))
		}
	}
	rules = append(rules, landlock.RWFiles(spec.Devices...).IgnoreIfMissing())
	rules = append(rules, landlock.RWDirs(spec.ReadWrite...).WithRefer())
	if abi >= 9 {
		rules = append(rules, landlock.PathAccess(ll.AccessFSResolveUnix, spec.Connect...))
	}
	fd, flags, err := cfg.NewRulesetFD(rules...)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return ll.LandlockRestrictSelf(fd, flags)
}

// deniedSyscalls answer EPERM in a plugin. Each gives a plugin reach beyond
// its sandbox or a large kernel surface no plugin needs: reading or
// writing other processes (ptrace, process_vm_*, pidfd_getfd), io_uring
// (whose operations would bypass this filter's checks), BPF and perf, page
// fault handling, the kernel keyrings (shared by every process of a user),
// and mounting.
var deniedSyscalls = []string{
	"ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd",
	"io_uring_setup", "io_uring_enter", "io_uring_register",
	"bpf", "perf_event_open", "userfaultfd",
	"keyctl", "add_key", "request_key",
	"mount", "umount2", "pivot_root", "move_mount", "open_tree", "fsopen", "fsmount", "fsconfig", "fspick",
}

func installSeccomp() error {
	native, err := arch.GetInfo("")
	if err != nil {
		return err
	}
	policy := seccomp.Policy{
		DefaultAction: seccomp.ActionAllow,
		Syscalls: []seccomp.SyscallGroup{{
			Action: seccomp.ActionErrno,
			Names:  deniedSyscalls,
			// Sockets: UNIX ones only. Landlock (ABI 4 to 9) restricts TCP
			// alone; this also closes UDP, raw and netlink sockets.
			NamesWithCondtions: []seccomp.NameWithConditions{{
				Name:       "socket",
				Conditions: []seccomp.Condition{{Argument: 0, Operation: seccomp.NotEqual, Value: unix.AF_UNIX}},
			}},
		}},
	}
	insts, err := policy.Assemble()
	if err != nil {
		return err
	}
	// go-seccomp-bpf lets system calls of another architecture (i386 through
	// int 0x80 on x86-64) fall through to the default action, which allows
	// them; a plugin could escape every rule that way. Kill it instead.
	guard := []bpf.Instruction{
		bpf.LoadAbsolute{Off: 4, Size: 4}, // seccomp_data.arch
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(native.ID), SkipTrue: 1},
		bpf.RetConstant{Val: unix.SECCOMP_RET_KILL_PROCESS},
	}
	raw, err := bpf.Assemble(append(guard, insts...))
	if err != nil {
		return err
	}
	filter := make([]unix.SockFilter, len(raw))
	for i, r := range raw {
		filter[i] = unix.SockFilter{Code: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K}
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	// This thread only: it is the one that executes the plugin.
	return unix.Prctl(unix.PR_SET_SECCOMP, unix.SECCOMP_MODE_FILTER, uintptr(unsafe.Pointer(&prog)), 0, 0)
}
