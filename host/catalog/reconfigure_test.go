package catalog

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/host/config"
	"github.com/switchboard-dev/switchboard/host/registry"
)

// TestReconfigureRollsOutAPinnedRelease is the rollout a list of pins
// allows, with real plugin binaries and no restart of the host: release a
// serves under its pin; the config pins a and b; b is moved in and swapped
// in; the config drops a; a config that pins only a again stops b at once.
// A plugin that the reload leaves alone keeps its process.
func TestReconfigureRollsOutAPinnedRelease(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	copyBinary(t, variantA, filepath.Join(dir, "testplugin"))
	copyBinary(t, echoBin, filepath.Join(dir, "echo"))
	sumA, sumB := sha256File(t, variantA), sha256File(t, variantB)
	plugin := func(pins ...string) config.Plugin {
		p := config.DefaultPlugin()
		p.Connections, p.Pins = []string{"genesys"}, pins
		return p
	}
	settings := func(p config.Plugin, overrides map[string]registry.Overrides) Settings {
		return Settings{Plugins: map[string]config.Plugin{"testplugin": p, "echo": pinned(t, echoBin)}, RequirePinned: true, Overrides: overrides}
	}
	first := settings(plugin(sumA), nil)
	cat := runSupervisor(t, Options{Dir: dir, Plugins: first.Plugins, RequirePinned: true, Supervision: Supervision{Watch: true, Debounce: 50 * time.Millisecond}})
	echo, _ := cat.Plugin("echo")
	if v, _ := cat.Plugin("testplugin"); v.State != StateServing || v.SHA256 != sumA || echo.State != StateServing {
		t.Fatalf("at load: %+v, echo %+v", v, echo)
	}
	reconfigure := func(set Settings) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := cat.Reconfigure(ctx, set); err != nil {
			t.Fatalf("reconfigure: %v", err)
		}
	}

	// The next release pinned beside this one; then it is moved in.
	reconfigure(settings(plugin(sumA, sumB), nil))
	copyBinary(t, variantB, filepath.Join(dir, "testplugin"))
	waitFor(t, "release b to serve", func() bool {
		v, _ := cat.Plugin("testplugin")
		return v.State == StateServing && v.SHA256 == sumB
	})

	// An unpinned binary moved in meanwhile is refused; b keeps serving.
	copyBinary(t, echoBin, filepath.Join(dir, "testplugin"))
	waitFor(t, "the unpinned binary to be refused", func() bool {
		v, _ := cat.Plugin("testplugin")
		return strings.Contains(v.Error, "does not match its pin")
	})
	if v, _ := cat.Plugin("testplugin"); v.State != StateServing || v.SHA256 != sumB {
		t.Fatalf("after an unpinned binary was moved in: %+v", v)
	}
	copyBinary(t, variantB, filepath.Join(dir, "testplugin"))

	// The old pin dropped; an override of one of its actions applies.
	reconfigure(settings(plugin(sumB), map[string]registry.Overrides{"callOut": {Timeout: 7 * time.Second}}))
	if a, ok := cat.opts.Registry.Current().Lookup("callOut"); !ok || a.Timeout != 7*time.Second || a.Plugin.SHA256 != sumB {
		t.Errorf("after the override: %+v", a)
	}
	if v, _ := cat.Plugin("echo"); v.PID != echo.PID || v.State != StateServing {
		t.Errorf("echo, which no reload changed, was restarted: pid %d, then %d", echo.PID, v.PID)
	}

	// An override alone rebuilds the actions over the same process.
	before, _ := cat.Plugin("testplugin")
	reconfigure(settings(plugin(sumB), map[string]registry.Overrides{"callOut": {Timeout: 3 * time.Second}}))
	if a, _ := cat.opts.Registry.Current().Lookup("callOut"); a.Timeout != 3*time.Second {
		t.Errorf("the override was not applied: %v", a.Timeout)
	}
	if v, _ := cat.Plugin("testplugin"); v.PID != before.PID {
		t.Errorf("an override restarted the plugin: pid %d, then %d", before.PID, v.PID)
	}
	if err := cat.CheckSettings(settings(plugin(sumB), map[string]registry.Overrides{"callOut": {AuditHMAC: []string{"no-slash"}}})); err == nil {
		t.Error("CheckSettings took an override the action refuses")
	}

	// A config that no longer pins the running binary stops it.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := cat.Reconfigure(ctx, settings(plugin(sumA), nil))
	v, _ := cat.Plugin("testplugin")
	if err == nil || v.State != StateRefused || v.PID != 0 || !strings.Contains(v.Error, "no longer pins its SHA-256 "+sumB) {
		t.Errorf("release b, unpinned: %v, %+v", err, v)
	}
	if _, ok := cat.opts.Registry.Current().Lookup("callOut"); ok {
		t.Error("the unpinned binary's actions are still served")
	}
}
