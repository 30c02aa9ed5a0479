package catalog

import (
	"runtime"
	"syscall"
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
