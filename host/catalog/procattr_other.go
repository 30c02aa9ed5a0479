//go:build !linux

package catalog

import (
	"os"
	"syscall"
)

// sysProcAttr has no parent-death signal outside Linux; there the SDK's own
// parent watch ends orphaned plugins.
func sysProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred}
}

func forkLocked(start func() error) error { return start() }

// Outside Linux no mount is taken for read-only.
func readOnlyFile(*os.File) bool { return false }

func readOnlyPath(string) bool { return false }
