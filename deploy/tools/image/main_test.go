package main

import (
	"archive/tar"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// fakeBin is a bin/ directory with stand-ins for the built binaries.
func fakeBin(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "plugins"), 0o755)
	for _, f := range []string{"switchboard", "switchboard-sandbox", "plugins/echo", "plugins/genesys-users"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("binary "+f), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func sum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// TestImageIsReproducible: the same inputs give the same archive, byte for
// byte, and the same digest; other inputs another.
func TestImageIsReproducible(t *testing.T) {
	bin, out := fakeBin(t), t.TempDir()
	a, b := filepath.Join(out, "a.tar"), filepath.Join(out, "b.tar")
	da, err := build(bin, a, "switchboard:test")
	if err != nil {
		t.Fatal(err)
	}
	os.Chtimes(filepath.Join(bin, "switchboard"), timeNowish(), timeNowish()) // a rebuild, same bytes
	db, err := build(bin, b, "switchboard:test")
	if err != nil {
		t.Fatal(err)
	}
	if da != db || sum(t, a) != sum(t, b) {
		t.Errorf("two builds of the same inputs differ: %s %s", da, db)
	}
	os.WriteFile(filepath.Join(bin, "plugins", "echo"), []byte("another build"), 0o755)
	if dc, _ := build(bin, filepath.Join(out, "c.tar"), "switchboard:test"); dc == da {
		t.Error("other inputs, the same digest")
	}
	if _, err := build(t.TempDir(), filepath.Join(out, "d.tar"), "switchboard:test"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("without the binaries: %v", err)
	}
}

// TestImageHoldsOnlyWhatTheHostNeeds: a non-root user, the binaries root-
// owned and not writable, no shell, /tmp for TMPDIR.
func TestImageHoldsOnlyWhatTheHostNeeds(t *testing.T) {
	out := filepath.Join(t.TempDir(), "image.tar")
	if _, err := build(fakeBin(t), out, "switchboard:test"); err != nil {
		t.Fatal(err)
	}
	img, err := tarball.ImageFromPath(out, nil)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Config.User != "65532:65532" || cf.Config.Entrypoint[0] != "/usr/local/bin/switchboard" || cf.OS != "linux" || cf.Created.Unix() != 0 {
		t.Errorf("config: %+v", cf.Config)
	}
	layers, _ := img.Layers()
	if len(layers) != 1 {
		t.Fatalf("%d layers, want 1", len(layers))
	}
	rc, _ := layers[0].Uncompressed()
	defer rc.Close()
	tr := tar.NewReader(rc)
	seen := map[string]bool{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		seen[strings.TrimSuffix(h.Name, "/")] = true
		if h.Uid != 0 || h.Gid != 0 || !h.ModTime.Equal(timeZero()) {
			t.Errorf("%s: owner %d:%d, time %v", h.Name, h.Uid, h.Gid, h.ModTime)
		}
		if h.Typeflag == tar.TypeReg && h.Mode&0o022 != 0 {
			t.Errorf("%s is writable by group or others", h.Name)
		}
	}
	for _, want := range []string{"usr/local/bin/switchboard", "usr/local/bin/switchboard-sandbox", "usr/local/lib/switchboard/plugins/echo", "etc/passwd", "etc/switchboard/switchboard.hcl", "tmp"} {
		if !seen[want] {
			t.Errorf("the image lacks %s", want)
		}
	}
	for _, shell := range []string{"bin/sh", "bin/bash", "usr/bin/env"} {
		if seen[shell] {
			t.Errorf("the image holds %s", shell)
		}
	}
}

func timeZero() time.Time   { return time.Unix(0, 0) }
func timeNowish() time.Time { return time.Now() }
