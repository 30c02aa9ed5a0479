package catalog

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"
)

// privateDir is the host's one private directory in $TMPDIR: each plugin
// process's directory and every go-plugin socket live in it. The host holds
// an exclusive lock on its .lock file while it runs, so that a host that
// starts later can tell the directory of one that was killed (kill -9
// leaves it behind) from that of one still running, and sweep it.
type privateDir struct {
	path string
	lock *os.File
}

const (
	privatePrefix = "switchboard-plugins-"
	lockName      = ".lock"
	// unlockedAge is how old a directory without a lock file must be to
	// be swept: one just made is locked an instant later.
	unlockedAge = time.Minute
)

// newPrivateDir sweeps the directories of hosts that are gone, then makes
// and locks this host's. Plugins running as another user must reach theirs
// inside, never list or create entries: 0711.
func newPrivateDir(logger hclog.Logger) (*privateDir, error) {
	if n, err := sweepPrivateDirs(os.TempDir()); n > 0 {
		logger.Info("removed the private directories of hosts that are gone", "count", n)
	} else if err != nil {
		logger.Warn("sweeping the private directories of hosts that are gone", "error", err)
	}
	path, err := os.MkdirTemp("", privatePrefix)
	if err == nil {
		err = os.Chmod(path, 0o711)
	}
	var lock *os.File
	if err == nil {
		lock, err = os.OpenFile(filepath.Join(path, lockName), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	}
	if err == nil {
		err = unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	}
	if err != nil {
		if lock != nil {
			lock.Close()
		}
		if path != "" {
			os.RemoveAll(path)
		}
		return nil, fmt.Errorf("plugin supervisor: private directory: %w", err)
	}
	return &privateDir{path: path, lock: lock}, nil
}

// remove removes the directory, then lets go of its lock.
func (d *privateDir) remove() error {
	err := os.RemoveAll(d.path)
	d.lock.Close()
	if err != nil {
		return fmt.Errorf("removing the plugins' private directory: %w", err)
	}
	return nil
}

// sweepPrivateDirs removes the private directories in tmp that belong to
// this user and whose host is gone: their lock is free, or, older than
// unlockedAge, they have none. It returns how many it removed.
func sweepPrivateDirs(tmp string) (int, error) {
	matches, err := filepath.Glob(filepath.Join(tmp, privatePrefix+"*"))
	if err != nil {
		return 0, err
	}
	removed := 0
	var errs []error
	for _, dir := range matches {
		fi, err := os.Lstat(dir)
		if err != nil || !fi.IsDir() {
			continue
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); !ok || int(st.Uid) != os.Geteuid() {
			continue // another user's: not ours to judge
		}
		if !gone(dir, fi) {
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			errs = append(errs, err)
			continue
		}
		removed++
	}
	return removed, errors.Join(errs...)
}

// gone reports whether the host of a private directory has stopped.
func gone(dir string, fi os.FileInfo) bool {
	lock, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR, 0)
	if err != nil {
		return errors.Is(err, os.ErrNotExist) && time.Since(fi.ModTime()) > unlockedAge
	}
	defer lock.Close()
	return unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil
}
