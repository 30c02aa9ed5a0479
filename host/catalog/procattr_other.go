//go:build !linux

package catalog

import "syscall"

// sysProcAttr has no parent-death signal outside Linux; there the SDK's own
// parent watch ends orphaned plugins.
func sysProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred}
}

func forkLocked(start func() error) error { return start() }
