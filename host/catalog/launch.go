package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin/runner"

	"github.com/switchboard-dev/switchboard/host/sandbox"
)

// openExecutable opens a plugin or launcher file for verification. It
// refuses a symbolic link and checks the open file, which is then the one
// read: see checkExecutable.
func openExecutable(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if errors.Is(err, syscall.ELOOP) {
		return nil, errors.New("refused: symbolic links are not followed; copy the binary into the plugins directory")
	}
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil {
		err = checkExecutable(fi, readOnlyFile(f))
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// checkExecutable is what the host requires of a file it runs: a regular
// file with an execute bit, that nobody but root and the host's own user
// can change. On a read-only mount (an OCI image volume, a read-only
// ConfigMap) nobody can change it, so its mode bits and owner do not matter.
func checkExecutable(fi fs.FileInfo, readOnly bool) error {
	perm := fi.Mode().Perm()
	switch {
	case !fi.Mode().IsRegular():
		return errors.New("skipped: not a regular file")
	case perm&0o111 == 0:
		return errors.New("skipped: not executable (chmod +x)")
	case readOnly:
		return nil
	case perm&0o022 != 0:
		return errors.New("refused: the file is writable by group or others, who could change what the host runs (chmod go-w)")
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid != 0 && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("refused: the file belongs to uid %d, neither root nor the host's user (uid %d), and its owner could change what the host runs (chown)", st.Uid, os.Geteuid())
	}
	return nil
}

// command is how one plugin process is run: the plugin's sealed executable,
// the sandbox plan, the user it runs as. Its runner method is go-plugin's
// RunnerFunc.
type command struct {
	name     string
	path     string   // the plugin file, shown as argv[0]
	exe      *os.File // the sealed copy of it
	dir      string   // the plugin's private directory: working directory, TMPDIR, its socket
	env      []string
	plan     sandbox.Plan
	cred     *syscall.Credential // nil: the host's own user
	launched *launchedProcess
}

// runner builds and returns the process go-plugin starts. spec carries
// go-plugin's environment (handshake, AutoMTLS certificate); hostSockets is
// the directory where the host's broker sockets will be, which the plugin
// connects to.
func (c *command) runner(_ hclog.Logger, spec *exec.Cmd, hostSockets string) (runner.Runner, error) {
	// The plugin's user must reach the host's sockets, never create files among them.
	if err := os.Chmod(hostSockets, 0o711); err != nil {
		return nil, err
	}
	env := append([]string{}, c.env...)
	for _, kv := range spec.Env {
		if !strings.HasPrefix(kv, "PLUGIN_UNIX_SOCKET_DIR=") {
			env = append(env, kv)
		}
	}
	env = append(env, "PLUGIN_UNIX_SOCKET_DIR="+c.dir) // its own socket goes in its own directory

	l := &launchedProcess{name: c.name, group: -1, exited: make(chan struct{}), reported: make(chan string, 1)}
	if c.cred != nil {
		l.group = int(c.cred.Gid)
	}
	var cmd *exec.Cmd
	if c.plan.Launcher == "" {
		cmd = exec.Command("/proc/self/fd/3") // the sealed executable, descriptor 3 in the child
		cmd.Args[0] = c.path
		cmd.ExtraFiles = []*os.File{c.exe}
		l.reported <- ""
	} else {
		self, err := openExecutable(c.plan.Launcher)
		if err != nil {
			return nil, fmt.Errorf("sandbox launcher %s: %w", c.plan.Launcher, err)
		}
		r, w, err := os.Pipe()
		if err != nil {
			self.Close()
			return nil, err
		}
		c.plan.Spec.Connect = []string{hostSockets}
		raw, err := json.Marshal(c.plan.Spec)
		if err != nil {
			self.Close()
			r.Close()
			w.Close()
			return nil, err
		}
		env = append(env, "SWITCHBOARD_SANDBOX="+string(raw))
		// Descriptors 3, 4, 5 in the child: the sealed plugin, the report
		// pipe, the launcher itself, which runs through /proc so that the
		// plugin's user needs no access to the directory it is in.
		cmd = exec.Command("/proc/self/fd/5", c.path)
		cmd.Args[0] = sandbox.LauncherName // what makes switchboard itself act as the launcher
		cmd.ExtraFiles = []*os.File{c.exe, w, self}
		l.closeAfterStart = []*os.File{w, self}
		l.report = r
	}
	cmd.Env = env
	cmd.Dir = c.dir
	cmd.Stdin = nil // /dev/null, not the host's standard input
	cmd.SysProcAttr = sysProcAttr(c.cred)
	var err error
	if l.stdout, err = cmd.StdoutPipe(); err == nil {
		l.stderr, err = cmd.StderrPipe()
	}
	if err != nil {
		l.closeFiles()
		return nil, err
	}
	l.cmd = cmd
	c.launched = l
	return l, nil
}

// launchedProcess is go-plugin's runner of one plugin process.
type launchedProcess struct {
	name            string
	cmd             *exec.Cmd
	stdout, stderr  io.ReadCloser
	report          *os.File    // the launcher's report: read end
	closeAfterStart []*os.File  // the parent's copies of what only the child needs
	reported        chan string // the launcher's error, "" when it executed the plugin
	group           int         // the group given the host's sockets; -1: the plugin runs as the host's user
	exited          chan struct{}
}

func (l *launchedProcess) closeFiles() {
	for _, f := range l.closeAfterStart {
		f.Close()
	}
	if l.report != nil {
		l.report.Close()
	}
}

func (l *launchedProcess) Start(context.Context) error {
	err := forkLocked(l.cmd.Start)
	for _, f := range l.closeAfterStart {
		f.Close()
	}
	if err != nil {
		if l.report != nil {
			l.report.Close()
		}
		return err
	}
	if l.report != nil {
		go func() {
			// EOF without a word: the plugin was executed (the pipe is
			// close-on-exec in the launcher).
			b, _ := io.ReadAll(io.LimitReader(l.report, 4096))
			l.report.Close()
			l.reported <- string(b)
		}()
	}
	return nil
}

// launchError returns what the launcher reported, waiting up to a second
// for it: "" when the plugin was executed.
func (l *launchedProcess) launchError() string {
	select {
	case s := <-l.reported:
		l.reported <- s
		return s
	case <-time.After(time.Second):
		return ""
	}
}

func (l *launchedProcess) Wait(context.Context) error {
	err := l.cmd.Wait()
	close(l.exited)
	return err
}

func (l *launchedProcess) Kill(context.Context) error {
	if l.cmd.Process == nil {
		return nil
	}
	if err := l.cmd.Process.Kill(); !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	return nil
}

func (l *launchedProcess) Stdout() io.ReadCloser { return l.stdout }
func (l *launchedProcess) Stderr() io.ReadCloser { return l.stderr }

// Name names the plugin's log lines, which the host logs under it.
func (l *launchedProcess) Name() string { return l.name }

func (l *launchedProcess) ID() string {
	if l.cmd.Process == nil {
		return ""
	}
	return strconv.Itoa(l.cmd.Process.Pid)
}

func (l *launchedProcess) Diagnose(context.Context) string { return "" }

func (l *launchedProcess) PluginToHost(network, addr string) (string, string, error) {
	return network, addr, nil
}

// HostToPlugin gives a host socket that the plugin must connect to (the
// Outbound broker's) to the plugin's group, before the plugin learns of it.
// The socket's directory is writable by the host alone, so the socket
// cannot be swapped meanwhile.
func (l *launchedProcess) HostToPlugin(network, addr string) (string, string, error) {
	if network == "unix" && l.group >= 0 {
		if err := os.Chown(addr, -1, l.group); err != nil {
			return "", "", err
		}
		if err := os.Chmod(addr, 0o660); err != nil {
			return "", "", err
		}
	}
	return network, addr, nil
}

var _ runner.Runner = (*launchedProcess)(nil)
