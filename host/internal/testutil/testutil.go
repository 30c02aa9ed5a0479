// Package testutil builds real plugin and host binaries for tests, once per
// test binary, so that integration tests run the real parts.
package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Module is the module path; packages are named relative to it.
const Module = "github.com/switchboard-dev/switchboard"

// BuildVariant compiles one package into path with -X main.variant=variant,
// so that the same plugin can be built into binaries that differ.
func BuildVariant(path, pkg, variant string) error {
	cmd := exec.Command("go", "build", "-ldflags", "-X main.variant="+variant, "-o", path, Module+"/"+pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", pkg, err, out)
	}
	return nil
}

// Build compiles each package (relative to the module, e.g. "plugins/echo")
// into dir, named after the package's last element. It runs `go build`
// without the race detector, so binaries start fast under `go test -race`.
func Build(dir string, pkgs ...string) error {
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	for _, p := range pkgs {
		args = append(args, Module+"/"+p)
	}
	cmd := exec.Command("go", args...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}
