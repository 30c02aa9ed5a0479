package app_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/host/app"
	"github.com/switchboard-dev/switchboard/host/config"
	"github.com/switchboard-dev/switchboard/host/genesys/emulator"
	"github.com/switchboard-dev/switchboard/host/genesys/export"
	"github.com/switchboard-dev/switchboard/host/genesys/sim"
)

// pki is a test CA, a server certificate for 127.0.0.1 and a client
// certificate (Genesys Cloud's, in production).
type pki struct {
	caPEM, certPEM, keyPEM []byte
	client                 tls.Certificate
	other                  tls.Certificate // another client certificate of the same CA
	pool                   *x509.CertPool
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	issue := func(cn string, usage x509.ExtKeyUsage, ip net.IP) ([]byte, []byte) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			ExtKeyUsage: []x509.ExtKeyUsage{usage}, KeyUsage: x509.KeyUsageDigitalSignature,
		}
		if ip != nil {
			tmpl.IPAddresses = []net.IP{ip}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		keyDER, _ := x509.MarshalECPrivateKey(key)
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	}
	p := &pki{caPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), pool: x509.NewCertPool()}
	p.pool.AddCert(ca)
	p.certPEM, p.keyPEM = issue("127.0.0.1", x509.ExtKeyUsageServerAuth, net.ParseIP("127.0.0.1"))
	cc, ck := issue("genesys-cloud-client", x509.ExtKeyUsageClientAuth, nil)
	p.client, _ = tls.X509KeyPair(cc, ck)
	oc, ok := issue("someone-else", x509.ExtKeyUsageClientAuth, nil)
	p.other, _ = tls.X509KeyPair(oc, ok)
	return p
}

// TestMTLSAdmitsOnlyTheListedCertificate: the CA signs certificates for
// others too; allowed_subjects admits Genesys Cloud's alone.
func TestMTLSAdmitsOnlyTheListedCertificate(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	srv := genesysHost(t, p, withConfig(func(c *config.Config) { c.Inbound.MTLS.AllowedSubjects = []string{"CN=genesys-cloud-client"} }))
	for name, tc := range map[string]struct {
		cert tls.Certificate
		want int
	}{"listed": {p.client, 200}, "same CA, not listed": {p.other, 401}} {
		client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.pool, Certificates: []tls.Certificate{tc.cert}}}}
		resp, err := client.Post(srv.URL+"/actions/echo", "application/json", strings.NewReader(`{"message":"x"}`))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: %d, want %d", name, resp.StatusCode, tc.want)
		}
	}
}

const (
	apiKey      = "api-key-0123456789abcdef"
	oauthSecret = "oauth-secret-0123456789abcdef"
)

// genesysHost serves over HTTPS with every inbound method at once.
func genesysHost(t *testing.T, p *pki, more ...hostOption) *testHost {
	t.Helper()
	dir := t.TempDir()
	files := map[string][]byte{"ca.pem": p.caPEM, "cert.pem": p.certPEM, "key.pem": p.keyPEM}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return startHost(t, append([]hostOption{withPlugins("echo", "genesys-users"), withSim(sim.Options{}), withConfig(func(cfg *config.Config) {
		cfg.TLS = &config.TLS{CertFile: filepath.Join(dir, "cert.pem"), KeyFile: filepath.Join(dir, "key.pem")}
		cfg.Inbound = config.Inbound{
			Basic:  &config.Basic{Username: "genesys", Password: basicPassword},
			APIKey: &config.APIKey{Header: "X-Switchboard-Key", Keys: []string{apiKey}},
			OAuth:  &config.InboundOAuth{ClientID: "genesys-cloud", ClientSecret: oauthSecret, TokenTTL: time.Hour},
			MTLS:   &config.MTLS{ClientCAFile: filepath.Join(dir, "ca.pem")},
		}
	})}, more...)...)
}

// flow is how an Architect flow would call the host: an exported data
// action run by the emulator with one credential type.
type flow struct {
	auth  export.AuthKind
	creds emulator.CredentialType
	with  map[string]string
	mtls  bool
}

var flows = map[string]flow{
	"basic":   {export.AuthBasic, emulator.BasicAuth, map[string]string{"userName": "genesys", "password": basicPassword}, false},
	"api key": {export.AuthAPIKey, emulator.UserDefined, map[string]string{export.APIKeyField: apiKey}, false},
	"oauth":   {export.AuthOAuth, emulator.UserDefinedOAuth, map[string]string{export.ClientIDField: "genesys-cloud", export.ClientSecretField: oauthSecret}, false},
	"mtls":    {export.AuthNone, emulator.UserDefined, map[string]string{}, true},
}

// run exports the host's action for f, runs it through the emulator against
// the host, and returns the flow's output.
func (f flow) run(t *testing.T, p *pki, srv *testHost, action export.Action, input string) (json.RawMessage, error) {
	t.Helper()
	def, customAuth, err := export.JSON(action, export.Options{BaseURL: srv.URL, Auth: f.auth, APIKeyHeader: "X-Switchboard-Key"})
	if err != nil {
		t.Fatal(err)
	}
	a, err := emulator.Parse(def)
	if err != nil {
		t.Fatalf("the export does not parse as a data action: %v\n%s", err, def)
	}
	tlsCfg := &tls.Config{RootCAs: p.pool}
	if f.mtls {
		tlsCfg.Certificates = []tls.Certificate{p.client}
	}
	opts := emulator.RunOptions{
		Client:         &http.Client{Transport: &http.Transport{TLSClientConfig: tlsCfg}, Timeout: 20 * time.Second},
		CredentialType: f.creds,
		Credentials:    f.with,
	}
	if customAuth != nil {
		if opts.Auth, err = emulator.Parse(customAuth); err != nil {
			t.Fatalf("the customAuth export does not parse: %v\n%s", err, customAuth)
		}
	}
	return a.Run(context.Background(), json.RawMessage(input), opts)
}

func hostAction(name string, in, out string, errorsAsData bool) export.Action {
	return export.Action{Name: name, Input: json.RawMessage(in), Output: json.RawMessage(out), Timeout: 8 * time.Second, ErrorsAsData: errorsAsData}
}

const (
	echoIn   = `{"type":"object","properties":{"message":{"type":"string"}},"required":["message"],"additionalProperties":true}`
	echoOut  = `{"type":"object","properties":{"message":{"type":"string"}},"required":["message"],"additionalProperties":true}`
	usersIn  = `{"type":"object","properties":{"userId":{"type":"string","minLength":1}},"required":["userId"]}`
	usersOut = `{"type":"object","properties":{"id":{"type":"string"},"name":{"type":"string"},"email":{"type":"string"}},"required":["id","name"]}`
)

func TestExportedActionsRunAsGenesysWould(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	srv := genesysHost(t, p)
	for name, f := range flows {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			out, err := f.run(t, p, srv, hostAction("echo", echoIn, echoOut, false), `{"message":"hi from a flow"}`)
			if err != nil || string(out) != `{"message":"hi from a flow"}` {
				t.Errorf("echo: %s %v", out, err)
			}
			out, err = f.run(t, p, srv, hostAction("fetchUserProfile", usersIn, usersOut, false), `{"userId":"`+sim.AgentUserID+`"}`)
			var u map[string]string
			if err != nil || json.Unmarshal(out, &u) != nil || u["id"] != sim.AgentUserID || u["name"] != "Aoife Byrne" {
				t.Errorf("fetchUserProfile: %s %v", out, err)
			}
		})
	}
	// Wrong credentials: the host answers 401 and the flow fails.
	bad := flows["basic"]
	bad.with = map[string]string{"userName": "genesys", "password": "wrong"}
	_, err := bad.run(t, p, srv, hostAction("echo", echoIn, echoOut, false), `{"message":"x"}`)
	var he *emulator.HTTPError
	if !errors.As(err, &he) || he.Status != 401 {
		t.Errorf("wrong password: %v", err)
	}
	// No credential at all, not even a client certificate: refused.
	none := flows["mtls"]
	none.mtls = false
	if _, err := none.run(t, p, srv, hostAction("echo", echoIn, echoOut, false), `{"message":"x"}`); !errors.As(err, &he) || he.Status != 401 {
		t.Errorf("no credential: %v", err)
	}
}

func TestErrorsAsDataReachTheFlow(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	srv := genesysHost(t, p, withConfig(func(c *config.Config) {
		c.Actions["fetchUserProfile"] = config.Action{ErrorsAsData: true}
	}))
	action := hostAction("fetchUserProfile", usersIn, usersOut, true)
	f := flows["api key"]
	out, err := f.run(t, p, srv, action, `{"userId":"00000000-0000-0000-0000-000000000000"}`)
	if err != nil {
		t.Fatalf("a downstream 404 must reach the flow as data: %v", err)
	}
	var res struct {
		OK        bool   `json:"ok"`
		Status    int    `json:"status"`
		Code      string `json:"code"`
		Message   string `json:"message"`
		Retryable bool   `json:"retryable"`
	}
	if json.Unmarshal(out, &res) != nil || res.OK || res.Status != 404 || res.Code != "user_not_found" || res.Message == "" {
		t.Errorf("flow output: %s", out)
	}
	out, err = f.run(t, p, srv, action, `{"userId":"`+sim.AgentUserID+`"}`)
	if err != nil || !strings.HasPrefix(string(out), `{"ok":true,`) || !strings.Contains(string(out), `"name":"Aoife Byrne"`) {
		t.Errorf("success as data: %s %v", out, err)
	}
}

func TestContractRulesAreCheckedAtLoad(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	copyFile(t, badContract, filepath.Join(dir, "badcontract"))
	for mode, wantServed := range map[string]bool{config.ContractEnforce: false, config.ContractWarn: true} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig()
			cfg.PluginDir, cfg.ContractChecks = dir, mode
			host, err := app.New(cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer host.Close()
			problems, err := host.Load(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			_, served := host.Registry.Current().Lookup("nested")
			if served != wantServed {
				t.Errorf("served = %v, want %v (problems %v)", served, wantServed, problems)
			}
			if !wantServed && (len(problems) != 1 || !strings.Contains(problems[0].Err.Error(), `action "nested"`) || !strings.Contains(problems[0].Err.Error(), "input-flat")) {
				t.Errorf("problems %v: want one naming the action and the rule", problems)
			}
		})
	}
}
