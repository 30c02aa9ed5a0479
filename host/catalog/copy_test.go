package catalog

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCopyPlugin(t *testing.T) {
	src := filepath.Join(t.TempDir(), "crm-sync")
	if err := os.WriteFile(src, []byte("#!/bin/true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sum, err := FileSHA256(src)
	if err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()

	if _, err := CopyPlugin(src, dst, "", []string{strings.Repeat("0", 64)}); err == nil || !strings.Contains(err.Error(), sum) {
		t.Fatalf("a copy against another pin: %v", err)
	}
	if entries, _ := os.ReadDir(dst); len(entries) != 0 {
		t.Fatalf("a refused copy left %v", entries)
	}

	got, err := CopyPlugin(src, dst, "", []string{"ab", strings.ToUpper(sum)})
	if err != nil || got != sum {
		t.Fatalf("copy: %q %v", got, err)
	}
	fi, err := os.Stat(filepath.Join(dst, "crm-sync"))
	if err != nil || fi.Mode().Perm() != 0o555 {
		t.Fatalf("copied file: %v %v", fi, err)
	}
	if entries, _ := os.ReadDir(dst); len(entries) != 1 {
		t.Fatalf("copy left %v", entries)
	}

	if _, err := CopyPlugin(filepath.Dir(src), dst, "", nil); err == nil {
		t.Error("a directory was copied")
	}
	bad := filepath.Join(filepath.Dir(src), "bad name")
	os.WriteFile(bad, nil, 0o600)
	if _, err := CopyPlugin(bad, dst, "", nil); err == nil {
		t.Error("a file the host would not discover was copied")
	}
	if _, err := CopyPlugin(src, dst, "crm", nil); err != nil {
		t.Fatal(err)
	} else if _, err := os.Stat(filepath.Join(dst, "crm")); err != nil {
		t.Errorf("copy as crm: %v", err)
	}
	if _, err := CopyPlugin(src, dst, ".hidden", nil); err == nil {
		t.Error("a copy as a hidden name was made")
	}
}
