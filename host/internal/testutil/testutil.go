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
