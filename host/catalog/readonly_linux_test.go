package catalog

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestReadOnlyMountedPluginsAreAcceptedWhateverTheirModes: on a read-only
// mount (as an OCI image volume is) nobody can change a plugin file, so a
// mode of 0777 is no reason to refuse it; the same file on a writable mount
// is refused. The mount is made in a mount namespace of the test's own
// thread, so the machine's mounts are never touched.
func TestReadOnlyMountedPluginsAreAcceptedWhateverTheirModes(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting needs root")
	}
	t.Parallel()
	dir := t.TempDir()
	src, err := os.ReadFile(echoBin)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine, and its namespace with it
		if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
			t.Errorf("unshare: %v", err)
			return
		}
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			t.Errorf("making the mounts private: %v", err)
			return
		}
		if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "mode=0755"); err != nil {
			t.Errorf("mount: %v", err)
			return
		}
		path := filepath.Join(dir, "echo")
		if err := os.WriteFile(path, src, 0o777); err != nil {
			t.Errorf("write: %v", err)
			return
		}
		os.Chmod(path, 0o777)
		os.Chmod(dir, 0o777)
		if _, err := Verify(Binary{Name: "echo", Path: path}); err == nil || !strings.Contains(err.Error(), "writable by group or others") {
			t.Errorf("on a writable mount: %v, want refused", err)
		}
		if _, _, err := Discover(dir); err == nil || !strings.Contains(err.Error(), "writable by others") {
			t.Errorf("a world-writable directory on a writable mount: %v, want refused", err)
		}
		// EBUSY while a file of it is open for writing, which a child that
		// another test forks holds for a moment (between fork and exec): retry.
		var err error
		for i := 0; i < 100; i++ {
			if err = unix.Mount("", dir, "", unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != unix.EBUSY {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if err != nil {
			t.Errorf("remount read-only: %v", err)
			return
		}
		bins, problems, err := Discover(dir)
		if err != nil || len(bins) != 1 || len(problems) != 0 {
			t.Errorf("Discover on a read-only mount: %v %v %v", bins, problems, err)
		}
		v, err := Verify(Binary{Name: "echo", Path: path})
		if err != nil {
			t.Errorf("on a read-only mount: %v, want accepted", err)
			return
		}
		v.Close()
	}()
	<-done
}
