//go:build !linux

package sandbox

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
)

// LauncherName is the name the launcher runs under.
const LauncherName = "switchboard-sandbox"

// IsLauncher reports whether this process was started as the launcher.
func IsLauncher() bool { return false }

// Launch exists on Linux only.
func Launch() {
	os.Stderr.WriteString("switchboard-sandbox: plugin sandboxes need Linux\n")
	os.Exit(126)
}

// GuardHost does nothing outside Linux.
func GuardHost() error { return nil }

// Probe finds nothing to apply outside Linux.
func Probe(launcher string) Capabilities { return Capabilities{} }

// Seal copies f into an unlinked private file and hashes it. Outside Linux
// there are no sealed memory files: the copy is only as safe as the host's
// temporary directory.
func Seal(f *os.File, name string) (*os.File, string, error) {
	tmp, err := os.CreateTemp("", "switchboard-"+name+"-")
	if err != nil {
		return nil, "", err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(tmp, h), f); err != nil {
		return nil, "", err
	}
	if err := tmp.Chmod(0o500); err != nil {
		return nil, "", err
	}
	ro, err := os.Open(tmp.Name())
	if err != nil {
		return nil, "", errors.Join(err)
	}
	return ro, hex.EncodeToString(h.Sum(nil)), nil
}
