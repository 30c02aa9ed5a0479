package catalog

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
)

// execCommand runs the verified open file f, not whatever path names now:
// the child receives f as descriptor 3 and executes /proc/self/fd/3,
// through a link named after the plugin in its private directory dir (so
// that go-plugin's logs name the plugin). Its argv[0] stays the binary's
// path, for ps. (A script plugin can still read itself through that
// descriptor, since it is not close-on-exec.)
func execCommand(f *os.File, path, dir, name string) (*exec.Cmd, error) {
	link := filepath.Join(dir, name)
	if err := os.Symlink("/proc/self/fd/3", link); err != nil {
		return nil, err
	}
	cmd := exec.Command(link)
	cmd.Args[0] = path
	cmd.ExtraFiles = []*os.File{f}
	return cmd, nil
}

// sysProcAttr asks the kernel to kill a plugin when the host dies, even by
// SIGKILL. Linux ties this to the thread that forks, so forkLocked runs the
// start on a locked OS thread that outlives it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// forkLocked runs start (which forks the plugin) on a locked OS thread. The
// thread goes back to the runtime's pool afterwards and stays alive, so the
// parent-death signal only fires when the whole host is gone.
func forkLocked(start func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	return start()
}
