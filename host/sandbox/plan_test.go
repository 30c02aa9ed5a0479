package sandbox

import (
	"strings"
	"testing"
)

func TestNewPlan(t *testing.T) {
	t.Parallel()
	full := Capabilities{Launcher: "/usr/bin/switchboard-sandbox", LandlockABI: 7, Seccomp: true}
	all := "no_new_privs,fds_closed,rlimits,landlock_fs,landlock_tcp,landlock_scope,seccomp"
	tests := map[string]struct {
		policy  Policy
		caps    Capabilities
		applied string
		missing []string // substrings, in order
		err     string
	}{
		"full":                 {Policy{}, full, all, nil, ""},
		"require, full":        {Policy{Mode: Require}, full, all, nil, ""},
		"off":                  {Policy{Mode: Off}, full, "", nil, ""},
		"ABI 4: no scopes":     {Policy{}, Capabilities{Launcher: "l", LandlockABI: 4, Seccomp: true}, "no_new_privs,fds_closed,rlimits,landlock_fs,landlock_tcp,seccomp", []string{"landlock_scope: this kernel's Landlock ABI is 4; it needs 6"}, ""},
		"no Landlock":          {Policy{}, Capabilities{Launcher: "l", Seccomp: true}, "no_new_privs,fds_closed,rlimits,seccomp", []string{"landlock_fs: this kernel has no Landlock", "landlock_tcp", "landlock_scope"}, ""},
		"no launcher":          {Policy{}, Capabilities{LandlockABI: 7, Seccomp: true}, "", []string{"landlock_fs: no sandbox launcher", "landlock_tcp", "landlock_scope", "seccomp", "no_new_privs", "fds_closed", "rlimits"}, ""},
		"require, no seccomp":  {Policy{Mode: Require}, Capabilities{Launcher: "l", LandlockABI: 7}, "", nil, `sandbox = "require", and this machine cannot give the plugin all of it: seccomp: seccomp filters cannot be installed here`},
		"missing read path":    {Policy{ReadPaths: []string{"/no/such/path"}}, full, "", nil, "sandbox_read: stat /no/such/path"},
		"relative read path":   {Policy{ReadPaths: []string{"lib"}}, full, "", nil, `sandbox_read "lib": not an absolute path`},
		"off ignores the rest": {Policy{Mode: Off, ReadPaths: []string{"lib"}}, Capabilities{}, "", nil, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			plan, err := NewPlan(tc.policy, tc.caps, "/tmp/private", "/tmp/sockets")
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one holding %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(plan.Applied, ","); got != tc.applied {
				t.Errorf("applied %s, want %s", got, tc.applied)
			}
			if len(plan.Missing) != len(tc.missing) {
				t.Fatalf("missing %q, want %d like %q", plan.Missing, len(tc.missing), tc.missing)
			}
			for i, m := range tc.missing {
				if !strings.Contains(plan.Missing[i], m) {
					t.Errorf("missing[%d] = %q, want it to hold %q", i, plan.Missing[i], m)
				}
			}
			if (plan.Launcher != "") != (tc.caps.Launcher != "" && tc.policy.Mode != Off) {
				t.Errorf("launcher %q", plan.Launcher)
			}
			if strings.Contains(tc.applied, "landlock_fs") && (len(plan.Spec.ReadWrite) != 1 || plan.Spec.ReadWrite[0] != "/tmp/private" || plan.Spec.LandlockABI != tc.caps.LandlockABI) {
				t.Errorf("spec %+v", plan.Spec)
			}
		})
	}
}
