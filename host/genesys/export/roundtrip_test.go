package export

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/switchboard-dev/switchboard/host/genesys/emulator"
)

// fakeHost stands in for Switchboard: POST [/gateway]/actions/{name}
// checks how Genesys authenticated and answers the canned outputs by input
// JSON; POST /oauth/token issues a token for the client credentials.
type fakeHost struct {
	auth    AuthKind
	outputs map[string]string // compact input JSON → output JSON
	tokens  atomic.Int32
}

const (
	hostUser, hostPassword   = "genesys", "basic-pw-1"
	hostKey                  = "api-key-1"
	hostClient, hostSecret   = "genesys-client", "client-secret-1"
	hostToken                = "host-token-1"
	hostKeyHeader            = "X-Switchboard-Key"
	errorsAsDataInput        = `{"orderId":"missing"}`
	errorsAsDataOutput       = `{"ok":false,"status":404,"code":"order_not_found","message":"no order missing","retryable":false}`
	draft2020InvalidInput    = `{"amount":0}`
	draft2020InvalidOutInput = `{"amount":1}`
)

func (h *fakeHost) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth/token", h.token)
	mux.HandleFunc("POST /actions/{name}", h.action)
	mux.HandleFunc("POST /gateway/actions/{name}", h.action)
	return mux
}

func (h *fakeHost) token(w http.ResponseWriter, r *http.Request) {
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte(hostClient+":"+hostSecret))
	if r.Header.Get("Authorization") != want || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
		return
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
		http.Error(w, `{"error":"unsupported_grant_type"}`, http.StatusBadRequest)
		return
	}
	h.tokens.Add(1)
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `{"access_token":"`+hostToken+`","token_type":"bearer","expires_in":3600}`)
}

func (h *fakeHost) action(w http.ResponseWriter, r *http.Request) {
	authz := r.Header.Get("Authorization")
	var ok bool
	switch h.auth {
	case AuthNone:
		ok = authz == ""
	case AuthBasic:
		ok = authz == "Basic "+base64.StdEncoding.EncodeToString([]byte(hostUser+":"+hostPassword))
	case AuthAPIKey:
		ok = authz == "" && r.Header.Get(hostKeyHeader) == hostKey
	case AuthOAuth:
		ok = authz == "Bearer "+hostToken
	}
	if !ok || r.Header.Get("Content-Type") != "application/json" {
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"status":401,"code":"unauthorized","message":"bad credentials"}`)
		return
	}
	body, _ := io.ReadAll(r.Body)
	out, found := h.outputs[string(body)]
	if !found {
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"status":404,"code":"no_canned_output","message":"`+r.PathValue("name")+`: `+strings.ReplaceAll(string(body), `"`, `'`)+`"}`)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, out)
}

// TestRoundTrip imports every golden export into the emulator and runs it
// against a fake Switchboard, with the credentials the integration would
// hold for that authentication.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	runs := map[string]map[string]string{ // case → input → output
		"none-minimal":           {`{"anything":[1,{"a":true}]}`: `{"echo":[1,{"a":true}]}`},
		"basic-fetchUserProfile": {`{"userId":"u-1"}`: `{"id":"u-1","name":"Ada Lovelace"}`},
		"apikey-errors-as-data": {
			`{"orderId":"o-9","verbose":null}`: `{"ok":true,"state":"open","total":12.5}`,
			errorsAsDataInput:                  errorsAsDataOutput,
		},
		"oauth-secure": {`{"ani":"+3531234567","pin":"1234"}`: `{"verified":true,"tags":["vip","returning"]}`},
		"draft2020-schemas": {
			`{"amount":3,"currency":"EUR"}`: `{"price":10,"pair":["a",1],"meta":{"a":"x","b":"y"}}`,
			draft2020InvalidOutInput:        `{"price":50}`, // exclusiveMaximum 50
		},
	}
	credentials := map[AuthKind]map[string]string{
		AuthBasic:  {"userName": hostUser, "password": hostPassword},
		AuthAPIKey: {APIKeyField: hostKey},
		AuthOAuth:  {ClientIDField: hostClient, ClientSecretField: hostSecret},
	}
	credTypes := map[AuthKind]emulator.CredentialType{
		AuthNone: emulator.UserDefined, AuthBasic: emulator.BasicAuth, AuthAPIKey: emulator.UserDefined, AuthOAuth: emulator.UserDefinedOAuth,
	}
	for name, tc := range exportCases() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			actJSON, authJSON := tc.json(t)
			act, err := emulator.Parse(actJSON)
			if err != nil {
				t.Fatalf("emulator.Parse: %v\n%s", err, actJSON)
			}
			var auth *emulator.Action
			if authJSON != nil {
				if auth, err = emulator.Parse(authJSON); err != nil {
					t.Fatalf("emulator.Parse(customAuth): %v", err)
				}
				if auth.ActionType != emulator.CustomAuth {
					t.Errorf("customAuth parsed as %q", auth.ActionType)
				}
			}
			host := &fakeHost{auth: tc.opts.Auth, outputs: runs[name]}
			s := httptest.NewServer(host.handler())
			defer s.Close()
			opts := emulator.RunOptions{
				Client: s.Client(), BaseURL: s.URL, Auth: auth,
				CredentialType: credTypes[tc.opts.Auth], Credentials: credentials[tc.opts.Auth],
			}
			for input, want := range runs[name] {
				out, err := act.Run(t.Context(), json.RawMessage(input), opts)
				switch {
				case name == "draft2020-schemas" && input == draft2020InvalidOutInput:
					if !errors.Is(err, emulator.ErrOutput) {
						t.Errorf("Run(%s) = %s, %v; want ErrOutput", input, out, err)
					}
				case err != nil:
					t.Errorf("Run(%s): %v", input, err)
				case string(out) != want:
					t.Errorf("Run(%s) = %s, want %s", input, out, want)
				}
			}
			if name == "draft2020-schemas" {
				if _, err := act.Run(t.Context(), json.RawMessage(draft2020InvalidInput), opts); !errors.Is(err, emulator.ErrInput) {
					t.Errorf("Run(%s) = %v, want ErrInput (exclusiveMinimum 0)", draft2020InvalidInput, err)
				}
			}
			if tc.opts.Auth == AuthOAuth && int(host.tokens.Load()) != len(runs[name]) {
				t.Errorf("%d token requests for %d runs", host.tokens.Load(), len(runs[name]))
			}
		})
	}
}

// TestRoundTripWrongCredentials checks that the fake host really checks:
// the same runs with wrong credentials fail with the host's 401.
func TestRoundTripWrongCredentials(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		opts  Options
		creds map[string]string
		typ   emulator.CredentialType
	}{
		"basic":  {Options{BaseURL: base, Auth: AuthBasic}, map[string]string{"userName": hostUser, "password": "wrong"}, emulator.BasicAuth},
		"apiKey": {Options{BaseURL: base, Auth: AuthAPIKey, APIKeyHeader: hostKeyHeader}, map[string]string{APIKeyField: "wrong"}, emulator.UserDefined},
		"oauth":  {Options{BaseURL: base, Auth: AuthOAuth}, map[string]string{ClientIDField: hostClient, ClientSecretField: "wrong"}, emulator.UserDefinedOAuth},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			actJSON, authJSON, err := JSON(Action{Name: "echo"}, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			act, err := emulator.Parse(actJSON)
			if err != nil {
				t.Fatal(err)
			}
			var auth *emulator.Action
			if authJSON != nil {
				if auth, err = emulator.Parse(authJSON); err != nil {
					t.Fatal(err)
				}
			}
			host := &fakeHost{auth: tc.opts.Auth, outputs: map[string]string{"{}": "{}"}}
			s := httptest.NewServer(host.handler())
			defer s.Close()
			_, err = act.Run(t.Context(), nil, emulator.RunOptions{Client: s.Client(), BaseURL: s.URL, CredentialType: tc.typ, Credentials: tc.creds, Auth: auth})
			var he *emulator.HTTPError
			if !errors.As(err, &he) || he.Status != http.StatusUnauthorized {
				t.Errorf("Run = %v, want the host's 401", err)
			}
		})
	}
}
