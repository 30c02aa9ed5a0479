package catalog

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// CopyPlugin copies the plugin binary src into dir as name (its own name
// when empty), mode 0555, through a temporary file in dir and a rename, so a host
// watching dir never sees part of it. When pins is not empty the bytes
// must hash to one of them (hex, any case), or nothing is written. It
// returns the copy's SHA-256.
func CopyPlugin(src, dir, name string, pins []string) (string, error) {
	if name == "" {
		name = filepath.Base(src)
	}
	if !validName(name) || strings.HasPrefix(name, ".") {
		return "", fmt.Errorf("%q: a plugin's file name has only letters, digits, '.', '-' and '_', and does not start with '.'", name)
	}
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	if fi, err := in.Stat(); err != nil {
		return "", err
	} else if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", src)
	}
	tmp, err := os.CreateTemp(dir, "."+name+".copy-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name()) // after the rename: nothing to remove
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(tmp, h), in); err != nil {
		tmp.Close()
		return "", fmt.Errorf("copying %s: %w", src, err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if len(pins) > 0 && !slices.ContainsFunc(pins, func(p string) bool { return strings.EqualFold(strings.TrimSpace(p), sum) }) {
		tmp.Close()
		return "", fmt.Errorf("%s has SHA-256 %s, not one of the pinned %s: nothing copied", src, sum, strings.Join(pins, ", "))
	}
	if err := tmp.Chmod(0o555); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		return "", err
	}
	return sum, nil
}
