package catalog

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/host/config"
	"github.com/switchboard-dev/switchboard/host/internal/testutil"
)

// Real plugin binaries, built once: echo; testplugin in two variants of
// the same size that differ in a few bytes (and answer "a" or "b" from
// their action meta); dupplugin, which declares one action twice.
var echoBin, variantA, variantB, dupBin string

func TestMain(m *testing.M) {
	testutil.Main(m, "catalog", func(dir string) error {
		echoBin, dupBin = filepath.Join(dir, "echo"), filepath.Join(dir, "dupplugin")
		variantA, variantB = filepath.Join(dir, "testplugin-a"), filepath.Join(dir, "testplugin-b")
		if err := testutil.Build(dir, "plugins/echo", "host/internal/dupplugin"); err != nil {
			return err
		}
		if err := testutil.BuildVariant(variantA, "host/internal/testplugin", "a"); err != nil {
			return err
		}
		return testutil.BuildVariant(variantB, "host/internal/testplugin", "b")
	})
}

// socketRoot is a private directory for plugin processes, as the catalog
// makes one: in the temporary directory, searchable by the plugins' user.
func socketRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "switchboard-catalog-test-")
	if err == nil {
		err = os.Chmod(dir, 0o711)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func write(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func TestDiscover(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write(t, filepath.Join(dir, "good"), "#!/bin/sh\n", 0o755)
	write(t, filepath.Join(dir, "notexec"), "data", 0o644)
	write(t, filepath.Join(dir, ".partial"), "#!/bin/sh\n", 0o755)
	write(t, filepath.Join(dir, "bad name"), "#!/bin/sh\n", 0o755)
	os.Mkdir(filepath.Join(dir, "subdir"), 0o755)
	os.Symlink(filepath.Join(dir, "good"), filepath.Join(dir, "link"))
	outside := filepath.Join(t.TempDir(), "outside")
	write(t, outside, "#!/bin/sh\n", 0o755)
	os.Symlink(outside, filepath.Join(dir, "escape"))

	bins, skipped, err := Discover(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(bins) != 1 || bins[0].Name != "good" || !filepath.IsAbs(bins[0].Path) || bins[0].Stamp.Ino == 0 {
		t.Errorf("binaries: %+v", bins)
	}
	reasons := map[string]string{}
	for _, p := range skipped {
		reasons[p.Plugin] = p.Err.Error()
	}
	for name, want := range map[string]string{
		"notexec":  "not executable",
		"bad name": "file name",
		"subdir":   "not a regular file",
		"link":     "symbolic link",
		"escape":   "symbolic link",
	} {
		if !strings.Contains(reasons[name], want) {
			t.Errorf("%s: reason %q, want one mentioning %q", name, reasons[name], want)
		}
	}
	if _, hidden := reasons[".partial"]; hidden {
		t.Error("a hidden file was reported; it must be ignored silently")
	}
	if _, _, err := Discover(filepath.Join(dir, "missing")); err == nil {
		t.Error("Discover of a missing directory succeeded")
	}
}

func TestPinMismatchNeverRuns(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	plugins := filepath.Join(dir, "plugins")
	os.Mkdir(plugins, 0o755)
	marker := filepath.Join(dir, "ran")
	write(t, filepath.Join(plugins, "evil"), "#!/bin/sh\ntouch "+marker+"\n", 0o755)
	cat := runSupervisor(t, Options{Dir: plugins, Plugins: map[string]config.Plugin{"evil": {Pins: []string{strings.Repeat("ab", 32)}}}})
	problems := cat.Problems()
	if n := cat.opts.Registry.Current().Len(); n != 0 || len(problems) != 1 || !strings.Contains(problems[0].Err.Error(), "does not match its pin") {
		t.Fatalf("problems %v, %d actions", problems, n)
	}
	if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("the binary ran although its SHA-256 does not match the pin")
	}
}

func TestRequirePinned(t *testing.T) {
	t.Parallel()
	plugins := t.TempDir()
	data, err := os.ReadFile(echoBin)
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(plugins, "echo"), string(data), 0o755)
	write(t, filepath.Join(plugins, "other"), string(data), 0o755)
	sum, _ := FileSHA256(echoBin)
	cat := runSupervisor(t, Options{Dir: plugins, RequirePinned: true, Plugins: map[string]config.Plugin{"echo": {Pins: []string{sum}}}})
	problems := cat.Problems()
	if _, ok := cat.opts.Registry.Current().Lookup("echo"); !ok {
		t.Errorf("the pinned plugin is not served: %v", problems)
	}
	if len(problems) != 1 || problems[0].Plugin != "other" || !strings.Contains(problems[0].Err.Error(), "no pin") {
		t.Errorf("problems %v: want the unpinned plugin refused", problems)
	}
}

func TestDuplicateActionFirstKeepsIt(t *testing.T) {
	t.Parallel()
	plugins := t.TempDir()
	data, _ := os.ReadFile(echoBin)
	write(t, filepath.Join(plugins, "a-echo"), string(data), 0o755)
	write(t, filepath.Join(plugins, "b-echo"), string(data), 0o755)
	cat := runSupervisor(t, Options{Dir: plugins})
	problems := cat.Problems()
	a, ok := cat.opts.Registry.Current().Lookup("echo")
	if !ok || a.Plugin.Name != "a-echo" {
		t.Errorf("echo served by %+v, want a-echo", a)
	}
	if len(problems) != 1 || problems[0].Plugin != "b-echo" || !strings.Contains(problems[0].Err.Error(), `already served by plugin "a-echo"`) {
		t.Errorf("problems: %v", problems)
	}
	var serving int
	for _, v := range cat.Plugins() {
		if v.State == StateServing {
			serving++
		}
	}
	if serving != 1 {
		t.Errorf("%d plugins serving, want 1 (the refused one stopped): %+v", serving, cat.Plugins())
	}
}

func TestStartFailures(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		script string
		want   string
	}{
		"not a plugin":     {"#!/bin/sh\necho hello\n", "start"},
		"exits at once":    {"#!/bin/sh\nexit 3\n", "start"},
		"wrong protocol":   {"#!/bin/sh\necho '1|7|unix|/tmp/x|grpc|'\nexec sleep 5\n", "incompatible API version with plugin. Plugin version: 7, Client versions: ["}, // go-plugin lists them in map order
		"net/rpc protocol": {"#!/bin/sh\necho '1|1|unix|/tmp/x|netrpc|'\nexec sleep 5\n", "unsupported plugin protocol"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := socketRoot(t)
			path := filepath.Join(dir, "p")
			write(t, path, tc.script, 0o755)
			v, err := Verify(Binary{Name: "p", Path: path})
			if err != nil {
				t.Fatal(err)
			}
			p, err := Start(context.Background(), v, ProcessOptions{SocketRoot: dir, StartTimeout: 3e9})
			v.Close()
			if err == nil {
				p.Kill()
				t.Fatal("Start succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}
