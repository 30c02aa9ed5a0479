package catalog

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// TestStalePrivateDirsAreSwept: a host's private directory is locked while
// it runs; a later host removes those whose host is gone (lock free, or no
// lock and older than a minute) and keeps the others.
func TestStalePrivateDirsAreSwept(t *testing.T) {
	tmp := t.TempDir()
	mk := func(name string, lock bool, age time.Duration) string {
		dir := filepath.Join(tmp, privatePrefix+name)
		if err := os.MkdirAll(filepath.Join(dir, "echo-1"), 0o711); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, "plugin123"), nil, 0o600) // a socket left behind
		if lock {
			os.WriteFile(filepath.Join(dir, lockName), nil, 0o600)
		}
		old := time.Now().Add(-age)
		os.Chtimes(dir, old, old)
		return dir
	}
	killed := mk("killed", true, time.Hour)
	ancient := mk("ancient", false, time.Hour)
	justMade := mk("just-made", false, 0)
	t.Setenv("TMPDIR", tmp)
	running, err := newPrivateDir(hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	for dir, want := range map[string]bool{killed: false, ancient: false, justMade: true, running.path: true} {
		if _, err := os.Stat(dir); (err == nil) != want {
			t.Errorf("%s: exists %v, want %v", filepath.Base(dir), err == nil, want)
		}
	}
	// A running host's directory survives another host's sweep.
	if n, err := sweepPrivateDirs(tmp); n != 0 || err != nil {
		t.Errorf("second sweep removed %d (%v)", n, err)
	}
	if err := running.remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(running.path); !os.IsNotExist(err) {
		t.Errorf("the host's own directory outlived it: %v", err)
	}
}
