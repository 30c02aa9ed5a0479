//go:build !linux

package catalog

import (
	"os"
	"os/exec"
	"syscall"
)

// execCommand runs the binary by path: outside Linux there is no
// /proc/self/fd, so a file swapped between verification and exec is not
// caught here.
func execCommand(_ *os.File, path, _, _ string) (*exec.Cmd, error) { return exec.Command(path), nil }

// sysProcAttr has no parent-death signal outside Linux; there the SDK's own
// parent watch ends orphaned plugins.
func sysProcAttr() *syscall.SysProcAttr { return nil }

func forkLocked(start func() error) error { return start() }
