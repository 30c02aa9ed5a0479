package app

import (
	"os"
	"runtime/debug"
	"testing"

	"github.com/hashicorp/go-hclog"
)

// Not parallel: the garbage collector's settings are the process's.
func TestTuneGCKeepsWhatTheEnvironmentSays(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))

	t.Setenv("GOGC", "150")
	TuneGC(hclog.NewNullLogger())
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("with GOGC set, the host changed the GC percent to %d", got)
	}

	os.Unsetenv("GOGC") // t.Setenv restores it
	TuneGC(hclog.NewNullLogger())
	if got := debug.SetGCPercent(100); got != ServeGCPercent {
		t.Errorf("without GOGC, the GC percent is %d, want %d", got, ServeGCPercent)
	}
}
