package catalog

import (
	"os"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// sysProcAttr asks the kernel to kill a plugin when the host dies, even by
// SIGKILL, and runs it as cred's user when cred is not nil. Linux ties the
// parent-death signal to the thread that forks, so forkLocked runs the start
// on a locked OS thread that outlives it; Go sets the signal after the
// change of user, which would clear it.
func sysProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Credential: cred}
}

// forkLocked runs start (which forks the plugin) on a locked OS thread. The
// thread goes back to the runtime's pool afterwards and stays alive, so the
// parent-death signal only fires when the whole host is gone.
func forkLocked(start func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	return start()
}

// readOnlyFile reports whether f is on a read-only mount, where nobody can
// change it.
func readOnlyFile(f *os.File) bool {
	var st unix.Statfs_t
	return unix.Fstatfs(int(f.Fd()), &st) == nil && st.Flags&unix.ST_RDONLY != 0
}

// readOnlyPath is readOnlyFile for a path (not following a last symbolic
// link, which Discover skips anyway).
func readOnlyPath(path string) bool {
	var st unix.Statfs_t
	return unix.Statfs(path, &st) == nil && st.Flags&unix.ST_RDONLY != 0
}
