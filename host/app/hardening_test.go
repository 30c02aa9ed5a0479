package app_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/switchboard-dev/switchboard/host/config"
	"github.com/switchboard-dev/switchboard/host/internal/testutil"
)

// TestAuditPathsHoldNoInputValue: the audit log writes a downstream path as
// the plugin's template, or with every segment that is not base_url's
// replaced; plain-word values (Z-9, ZZ, smith) and the query never appear.
func TestAuditPathsHoldNoInputValue(t *testing.T) {
	t.Parallel()
	o := observedHost(t)
	calls := map[string]struct {
		body, want string
	}{
		"a-1": {`{"connection":"genesys","url":"/orders/Z-9"}`, "/{}/{}"},
		"a-2": {`{"connection":"genesys","url":"/orders/ZZ?email=smith%40example.com"}`, "/{}/{}"},
		"a-3": {`{"connection":"genesys","url":"/orders/smith"}`, "/{}/{}"},
		"a-4": {`{"connection":"genesys","url":"/orders/{id}","arg":"Z-9"}`, "/orders/{id}"},
		"a-5": {`{"connection":"genesys","url":"/orders/{id}?q=smith","arg":"smith"}`, "/orders/{id}"},
	}
	for id, c := range calls {
		if a := o.as(t, "POST", "/actions/callOut", c.body, id, true); a.status != 200 {
			t.Fatalf("%s: %d %s", id, a.status, a.body)
		}
	}
	records := testutil.AuditByID(t, o.auditPath)
	for id, c := range calls {
		recs := records[id]
		if len(recs) != 1 || len(recs[0].Outbound) != 1 || recs[0].Outbound[0].Path != c.want {
			t.Errorf("%s: outbound %+v, want path %s", id, recs[0].Outbound, c.want)
		}
	}
	raw, _ := os.ReadFile(o.auditPath)
	for _, value := range []string{"Z-9", "ZZ", "smith", "email", "q="} {
		if bytes.Contains(raw, []byte(value)) {
			t.Errorf("the audit log holds %q", value)
		}
	}
}

// TestPluginLogLinesCannotForgeHostLines: a value a plugin logs, with a
// newline and what would be a host log line after it, stays on one line.
func TestPluginLogLinesCannotForgeHostLines(t *testing.T) {
	t.Parallel()
	h := startHost(t, withPlugins("testplugin"), withLogs(hclog.Info, false)) // the text format, which a newline could forge
	forged := "2026-12-02T10:00:00.000Z [ERROR] switchboard: forged: admin logged in"
	body, _ := json.Marshal(map[string]string{"value": "x\n" + forged + "\r\n\x1b[2J"})
	if a := h.post(t, "/actions/logInput", string(body)); a.status != 200 {
		t.Fatalf("%d %s", a.status, a.body)
	}
	// The plugin's lines reach the host's log from its stderr, a little later.
	eventually(t, 5*time.Second, "the plugin's line in the host's log", func() bool {
		return strings.Contains(h.logs.String(), "the caller sent:")
	})
	var found bool
	sc := bufio.NewScanner(strings.NewReader(h.logs.String()))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "2026-12-02T10:00:00.000Z") || strings.Contains(line, "\x1b") {
			t.Errorf("a forged log line: %q", line)
		}
		if strings.Contains(line, "the caller sent:") {
			found = true
			if !strings.Contains(line, `\n2026-12-02T10:00:00.000Z [ERROR]`) {
				t.Errorf("the value was not kept, escaped, on its line: %q", line)
			}
		}
	}
	if !found {
		t.Errorf("the plugin's line is not in the host's log:\n%s", h.logs)
	}
}

// TestDeclaredVersionsAreShown: Version("1.0.0") on an action reaches the
// admin API and the audit log.
func TestDeclaredVersionsAreShown(t *testing.T) {
	t.Parallel()
	o := observedHost(t)
	if a := o.as(t, "POST", "/actions/echo", `{"message":"x"}`, "v-1", true); a.status != 200 {
		t.Fatal(a.status)
	}
	a := o.as(t, "GET", "/admin/plugins", "", "v-2", true)
	if !regexp.MustCompile(`"actionVersions": \{\s*"echo": "1.0.0"`).Match(a.body) {
		t.Errorf("/admin/plugins: %s", a.body)
	}
	if p := testutil.AuditByID(t, o.auditPath)["v-1"][0].Plugin; p == nil || p.Version != "1.0.0" {
		t.Errorf("audit plugin: %+v", p)
	}
}

// TestPathsCannotEscapeBaseURL: with base_url …/api/v2, a plugin's path
// that climbs out of it is refused before anything leaves the host.
func TestPathsCannotEscapeBaseURL(t *testing.T) {
	t.Parallel()
	o := observedHost(t, withConfig(func(c *config.Config) {
		base, _ := url.Parse(c.Connections["genesys"].BaseURL.String() + "/api/v2")
		c.Connections["genesys"].BaseURL = base
	}))
	before := o.sim.hits.Load()
	for _, p := range []string{"../../admin", "/../../admin", "%2e%2e/%2e%2e/admin", o.sim.URL + "/admin", "users/..%2F..%2Fadmin"} {
		body, _ := json.Marshal(map[string]string{"connection": "genesys", "url": p})
		a := o.as(t, "POST", "/actions/callOut", string(body), "escape", true)
		if a.status != 403 || !strings.Contains(string(a.body), "outbound_refused") {
			t.Errorf("%s: %d %s", p, a.status, a.body)
		}
	}
	if after := o.sim.hits.Load(); after != before {
		t.Errorf("%d requests reached the downstream", after-before)
	}
	body, _ := json.Marshal(map[string]string{"connection": "genesys", "url": "users/{id}", "arg": "x"})
	if a := o.as(t, "POST", "/actions/callOut", string(body), "inside", true); a.status != 200 || !strings.Contains(string(a.body), `"status":404`) {
		t.Errorf("a path under base_url: %d %s", a.status, a.body)
	}
}
