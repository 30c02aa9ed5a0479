package app_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/host/app"
	"github.com/switchboard-dev/switchboard/host/config"
	"github.com/switchboard-dev/switchboard/host/genesys/sim"
)

// reloadable is a host whose config file the test rewrites: Reload reads
// the HCL file again, as serve's SIGHUP does.
type reloadable struct {
	*testHost
	file string
	sim  *genesysSim
	dir  string // the plugins directory
}

// Keys of the inbound API key; every config below lists the first.
const (
	keyKept    = "kept-key-0123456789abcdef"
	keyOld     = "old-key-0123456789abcdef"
	keyNew     = "new-key-0123456789abcdef"
	otherID    = "switchboard-rotated"
	otherSecre = "rotated-secret-0123456789abcdef"
)

// apiKeys is an inbound api_key block of keys.
func apiKeys(keys ...string) string {
	quoted := make([]string, len(keys))
	for i, k := range keys {
		quoted[i] = fmt.Sprintf("%q", k)
	}
	return fmt.Sprintf("api_key {\n    keys = [%s]\n  }", strings.Join(quoted, ", "))
}

// hcl is a config for the test's sim and plugins: what the inbound block
// holds, the genesys connection's client, and action blocks.
func (r *reloadable) hcl(inbound, clientID, clientSecret, actions string) string {
	return fmt.Sprintf(`plugin_dir       = %q
sandbox_launcher = %q
inbound {
  %s
}
plugin "genesys-users" {
  connections = ["genesys"]
}
plugin "testplugin" {
  connections = ["genesys"]
}
connection "genesys" {
  base_url = %q
  oauth2 {
    token_url     = "%s/oauth/token"
    client_id     = %q
    client_secret = %q
  }
}
%s`, r.dir, launcher, inbound, r.sim.URL, r.sim.URL, clientID, clientSecret, actions)
}

func (r *reloadable) write(t *testing.T, src string) {
	t.Helper()
	if err := os.WriteFile(r.file, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (r *reloadable) reload(t *testing.T) (*app.ReloadResult, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return r.Reload(ctx, false)
}

func startReloadable(t *testing.T, inbound string) *reloadable {
	t.Helper()
	r := &reloadable{file: filepath.Join(t.TempDir(), "switchboard.hcl"), dir: privateDir(t, "echo", "genesys-users", "testplugin")}
	r.sim = startSim(t, sim.Options{OtherClients: map[string]string{otherID: otherSecre}})
	r.write(t, r.hcl(inbound, r.sim.ClientID(), r.sim.ClientSecret(), ""))
	cfg, err := config.Load(r.file)
	if err != nil {
		t.Fatal(err)
	}
	read := func() (*config.Config, error) { return config.Load(r.file) }
	r.testHost = startHost(t, withConfig(func(c *config.Config) { *c = *cfg }),
		withOptions(app.Options{ReadConfig: read, ConfigFile: r.file, Supervision: fastSupervision}))
	return r
}

func (r *reloadable) call(t *testing.T, action, body, key string) answer {
	t.Helper()
	return r.send(t, http.MethodPost, "/actions/"+action, body, map[string]string{config.DefaultAPIKeyHeader: key})
}

// TestReloadsUnderLoadFailNothing: steady load on two actions, one of them
// calling Genesys Cloud, through 20 reloads alternating between two
// configs — other budgets, a mapping, another inbound key beside the one
// the load uses, and the genesys connection's OAuth client rotated — and
// not one request fails. Each config is in effect after its reload.
func TestReloadsUnderLoadFailNothing(t *testing.T) {
	t.Parallel()
	r := startReloadable(t, apiKeys(keyKept, keyOld))
	configs := []string{
		r.hcl(apiKeys(keyKept, keyOld), r.sim.ClientID(), r.sim.ClientSecret(), `action "echo" {
  timeout = "5s"
}
action "fetchUserProfile" {
  timeout = "8s"
}
`),
		r.hcl(apiKeys(keyKept, keyNew), otherID, otherSecre, `action "echo" {
  timeout = "6s"
  mapping = { "/message" = "/data/message" }
}
action "fetchUserProfile" {
  timeout = "9s"
}
`),
	}
	var (
		stop     atomic.Bool
		ok, fail atomic.Int64
		failures sync.Map
		wg       sync.WaitGroup
	)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				action, body := "echo", `{"message":"hi"}`
				if (i+w)%2 == 1 {
					action, body = "fetchUserProfile", `{"userId":"`+sim.AgentUserID+`"}`
				}
				a := r.call(t, action, body, keyKept)
				if a.status == 200 {
					ok.Add(1)
				} else {
					fail.Add(1)
					failures.Store(fmt.Sprintf("%s %d %s", action, a.status, a.body), true)
				}
			}
		}()
	}
	budget := func(action string) time.Duration {
		a, _ := r.Registry.Current().Lookup(action)
		return a.Timeout
	}
	var took []time.Duration
	for i := range 20 {
		time.Sleep(50 * time.Millisecond)
		r.write(t, configs[i%2])
		began := time.Now()
		res, err := r.reload(t)
		took = append(took, time.Since(began))
		if err != nil || res.Plugins != "" {
			t.Fatalf("reload %d: %v %+v", i, err, res)
		}
		if i > 0 && !slices.Equal(res.Connections, []string{"genesys"}) {
			t.Errorf("reload %d rebuilt connections %v, want the rotated genesys", i, res.Connections)
		}
		if want := []time.Duration{5 * time.Second, 6 * time.Second}[i%2]; budget("echo") != want {
			t.Errorf("reload %d: echo's budget %v, want %v", i, budget("echo"), want)
		}
	}
	time.Sleep(50 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	failures.Range(func(k, _ any) bool { t.Errorf("failed: %s", k); return true })
	if fail.Load() != 0 || ok.Load() < 100 {
		t.Fatalf("%d requests failed, %d succeeded", fail.Load(), ok.Load())
	}
	slices.Sort(took)
	t.Logf("%d requests through 20 reloads, none failed; a reload took %v (median), %v at most", ok.Load(), took[len(took)/2], took[len(took)-1])
	if st := r.sim.Stats(); st.TokenRequests < 2 || st.TokenRequests != st.TokensIssued {
		t.Errorf("token requests %+v: both OAuth clients should have had tokens, all granted", st)
	}
	if n := testutilCounter(t, r, `switchboard_config_reloads_total{result="ok"}`); n != 20 {
		t.Errorf("reloads counted: %v, want 20", n)
	}
}

// TestReloadRotatesInboundKeys: from the reload on, the removed key is
// refused and the added one admitted; tokens of the host's own OAuth
// endpoint follow the client secret in effect.
func TestReloadRotatesInboundKeys(t *testing.T) {
	t.Parallel()
	const secretA, secretB = "oauth-secret-a-0123456789abcdef", "oauth-secret-b-0123456789abcdef"
	oauth := func(secret string) string {
		return fmt.Sprintf("oauth {\n    client_id     = \"genesys\"\n    client_secret = %q\n  }", secret)
	}
	r := startReloadable(t, apiKeys(keyOld)+"\n  "+oauth(secretA))
	if a := r.call(t, "echo", `{"message":"x"}`, keyOld); a.status != 200 {
		t.Fatalf("the old key before: %d", a.status)
	}
	token := func(secret string) string {
		t.Helper()
		a := r.send(t, http.MethodPost, "/oauth/token", "grant_type=client_credentials&client_id=genesys&client_secret="+secret,
			map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		if a.status != 200 || json.Unmarshal(a.body, &tok) != nil {
			t.Fatalf("token with %s: %d %s", secret, a.status, a.body)
		}
		return tok.AccessToken
	}
	bearer := func(tok string) int {
		return r.send(t, http.MethodPost, "/actions/echo", `{"message":"x"}`, map[string]string{"Authorization": "Bearer " + tok}).status
	}
	tokA := token(secretA)
	if s := bearer(tokA); s != 200 {
		t.Fatalf("a token before the rotation: %d", s)
	}

	r.write(t, r.hcl(apiKeys(keyNew)+"\n  "+oauth(secretB), r.sim.ClientID(), r.sim.ClientSecret(), ""))
	res, err := r.reload(t)
	if err != nil {
		t.Fatal(err)
	}
	if a := r.call(t, "echo", `{"message":"x"}`, keyOld); a.status != 401 {
		t.Errorf("the removed key after the reload: %d", a.status)
	}
	if a := r.call(t, "echo", `{"message":"x"}`, keyNew); a.status != 200 {
		t.Errorf("the added key after the reload: %d %s", a.status, a.body)
	}
	if s := bearer(tokA); s != 401 {
		t.Errorf("a token of the rotated secret: %d, want 401", s)
	}
	if s := bearer(token(secretB)); s != 200 {
		t.Errorf("a token of the new secret: %d", s)
	}
	keys := map[string]bool{}
	for _, c := range res.Changes {
		keys[c.Key] = true
		if strings.Contains(c.Old+c.New, "0123456789abcdef") {
			t.Errorf("the diff shows a secret: %+v", c)
		}
	}
	if !keys["inbound.api_key.keys[0]"] || !keys["inbound.oauth.client_secret"] {
		t.Errorf("the diff does not show the rotated secrets: %+v", res.Changes)
	}
}

// TestBrokenConfigChangesNothing: a config that does not parse, names an
// unknown key, reads a secret file that is not there, overrides an action
// in a way it refuses, or changes a listen address is refused whole: the
// config in effect stays (its digest, its keys, its budgets), and the API,
// GET /admin/config and the metrics all say why.
func TestBrokenConfigChangesNothing(t *testing.T) {
	t.Parallel()
	r := startReloadable(t, apiKeys(keyKept))
	before := r.ConfigView()
	good := r.hcl(apiKeys(keyNew), r.sim.ClientID(), r.sim.ClientSecret(), `action "echo" {
  timeout = "4s"
}
`)
	for i, c := range []struct{ name, src, want string }{
		{"syntax", good + "listen = \n", "switchboard.hcl:"},
		{"unknown key", good + "listen_port = 8081\n", `"listen_port" is not expected`},
		{"unreadable secret", strings.Replace(good, fmt.Sprintf("%q", r.sim.ClientSecret()), `file("/nonexistent/switchboard/secret")`, 1), "/nonexistent/switchboard/secret"},
		{"a mapping the config refuses", good + "action \"fetchUserProfile\" {\n  mapping = { \"/userId\" = \"/nowhere/id\" }\n}\n", "must start with /data"},
		{"an override the action refuses", good + "action \"serviceStatus\" {\n  errors = \"data\"\n}\n", `its schema already declares "status"`},
		{"a listen address", good + "listen = \":9\"\n", "the config changes listen, which a running host cannot"},
	} {
		r.write(t, c.src)
		res, err := r.reload(t)
		if err == nil || !strings.Contains(err.Error(), c.want) || res.OK {
			t.Errorf("%s: %v, want an error with %q", c.name, err, c.want)
		}
		view := r.ConfigView()
		if view.Digest != before.Digest || !view.LoadedAt.Equal(before.LoadedAt) || view.LastReload == nil || view.LastReload.OK || view.LastReload.Error != err.Error() {
			t.Errorf("%s: GET /admin/config after the refusal: %+v", c.name, view)
		}
		if a := r.call(t, "echo", `{"message":"x"}`, keyKept); a.status != 200 {
			t.Errorf("%s: the key in effect is refused: %d", c.name, a.status)
		}
		if a := r.call(t, "echo", `{"message":"x"}`, keyNew); a.status != 401 {
			t.Errorf("%s: the refused config's key is admitted: %d", c.name, a.status)
		}
		if n := testutilCounter(t, r, `switchboard_config_reloads_total{result="error"}`); n != float64(i+1) {
			t.Errorf("%s: %v refusals counted, want %d", c.name, n, i+1)
		}
	}
	a := r.send(t, http.MethodPost, "/admin/config/reload", "", map[string]string{config.DefaultAPIKeyHeader: keyKept})
	if a.status != 422 || !strings.Contains(string(a.body), "the one in effect stays") || !strings.Contains(string(a.body), "cannot") {
		t.Errorf("POST /admin/config/reload of the last broken file: %d %s", a.status, a.body)
	}

	r.write(t, good)
	if a := r.send(t, http.MethodPost, "/admin/config/reload?dry_run=true", "", map[string]string{config.DefaultAPIKeyHeader: keyKept}); a.status != 200 ||
		!strings.Contains(string(a.body), `"key": "actions.echo.timeout"`) || r.ConfigView().Digest != before.Digest {
		t.Errorf("dry run: %d %s", a.status, a.body)
	}
	if a := r.send(t, http.MethodPost, "/admin/config/reload", "", map[string]string{config.DefaultAPIKeyHeader: keyKept}); a.status != 200 {
		t.Fatalf("the good config: %d %s", a.status, a.body)
	}
	if a := r.call(t, "echo", `{"message":"x"}`, keyNew); a.status != 200 {
		t.Errorf("the good config's key: %d", a.status)
	}
	view := r.send(t, http.MethodGet, "/admin/config", "", map[string]string{config.DefaultAPIKeyHeader: keyNew})
	if !strings.Contains(string(view.body), `"actions.echo.timeout": "4s"`) || strings.Contains(string(view.body), keyNew) || !strings.Contains(string(view.body), `"inbound.api_key.keys[0]": "(redacted)"`) {
		t.Errorf("GET /admin/config: %s", view.body)
	}
}

// testutilCounter reads one sample of the host's metrics.
func testutilCounter(t *testing.T, r *reloadable, sample string) float64 {
	t.Helper()
	a := r.send(t, http.MethodGet, "/metrics", "", map[string]string{config.DefaultAPIKeyHeader: keyKept})
	for _, line := range strings.Split(string(a.body), "\n") {
		if v, ok := strings.CutPrefix(line, sample+" "); ok {
			var f float64
			fmt.Sscan(v, &f)
			return f
		}
	}
	t.Fatalf("no %s in the metrics", sample)
	return 0
}

// TestReloadServesANewCertificateKeepingConnections: the certificate files
// replaced on disk and the config reloaded, new connections get the new
// certificate, and a connection opened before carries on.
func TestReloadServesANewCertificateKeepingConnections(t *testing.T) {
	t.Parallel()
	before, after := newPKI(t), newPKI(t)
	dir := t.TempDir()
	place := func(p *pki) {
		for name, b := range map[string][]byte{"cert.pem": p.certPEM, "key.pem": p.keyPEM} {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	place(before)
	tlsBlock := fmt.Sprintf("tls {\n  cert_file = %q\n  key_file  = %q\n}\n", filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"))
	r := &reloadable{file: filepath.Join(t.TempDir(), "switchboard.hcl"), dir: privateDir(t, "echo", "genesys-users")}
	r.sim = startSim(t, sim.Options{})
	src := r.hcl(apiKeys(keyKept), r.sim.ClientID(), r.sim.ClientSecret(), tlsBlock)
	r.write(t, src)
	cfg, err := config.Load(r.file)
	if err != nil {
		t.Fatal(err)
	}
	r.testHost = startHost(t, withConfig(func(c *config.Config) { *c = *cfg }),
		withOptions(app.Options{ReadConfig: func() (*config.Config, error) { return config.Load(r.file) }}))

	client := func(p *pki) *http.Client {
		return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.pool}}}
	}
	call := func(c *http.Client) (reused bool, err error) {
		req, _ := http.NewRequest(http.MethodPost, r.URL+"/actions/echo", strings.NewReader(`{"message":"x"}`))
		req.Header.Set(config.DefaultAPIKeyHeader, keyKept)
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }}))
		resp, err := c.Do(req)
		if err != nil {
			return false, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return reused, fmt.Errorf("status %d", resp.StatusCode)
		}
		return reused, nil
	}
	open := client(before)
	if _, err := call(open); err != nil {
		t.Fatalf("before: %v", err)
	}

	place(after)
	if _, err := r.reload(t); err != nil {
		t.Fatal(err)
	}
	if reused, err := call(open); err != nil || !reused {
		t.Errorf("the connection opened before the reload: reused %v, %v", reused, err)
	}
	if _, err := call(client(after)); err != nil {
		t.Errorf("a new connection trusting the new certificate: %v", err)
	}
	if _, err := call(client(before)); err == nil {
		t.Error("a new connection still gets the old certificate")
	}

	// A key that does not match its certificate is refused, and the
	// certificate in effect stays.
	if err := os.WriteFile(filepath.Join(dir, "key.pem"), before.keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := r.reload(t); err == nil || !strings.Contains(err.Error(), "tls") {
		t.Errorf("a mismatched key: %v", err)
	}
	if _, err := call(client(after)); err != nil {
		t.Errorf("after the refused reload: %v", err)
	}
}
