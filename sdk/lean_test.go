package sdk_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestPluginsStayLean: what a plugin binary links — the sdk package and the
// example plugins — depends on nothing only the host needs. sdk/contract and
// sdk/sdktest compile schemas as the host does (jsonschema), but only a
// plugin's tests import them, never its binary.
func TestPluginsStayLean(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/switchboard-dev/switchboard/sdk", "github.com/switchboard-dev/switchboard/plugins/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, hostOnly := range []string{"switchboard-dev/switchboard/host/", "santhosh-tekuri/jsonschema", "prometheus", "golang.org/x/oauth2", "redis", "otter", "sdk/contract", "sdk/sdktest"} {
			if strings.Contains(dep, hostOnly) {
				t.Errorf("a plugin binary links %s", dep)
			}
		}
	}
}
