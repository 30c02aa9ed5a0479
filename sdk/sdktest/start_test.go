package sdktest

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/sdk/contract"
)

// A plugin binary whose contract the host would refuse is refused.
func TestStartRefusesContractBreach(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "badcontract")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/switchboard-dev/switchboard/host/internal/badcontract")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	_, err := start(bin, t.TempDir(), t.Cleanup, newOptions(options{}, nil))
	var v contract.Violation
	if !errors.As(err, &v) || v.Rule != contract.RuleInputFlat || !strings.Contains(err.Error(), `action "nested"`) {
		t.Errorf("start = %v, want a breach of %s by action \"nested\"", err, contract.RuleInputFlat)
	}
}
