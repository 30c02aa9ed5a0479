package emulator

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// spec is a synthetic data action definition.
type spec struct {
	actionType     string
	method, url    string
	headers        map[string]string
	body           *string
	translationMap map[string]string
	defaults       map[string]string
	success        *string
	input, output  json.RawMessage
	timeout        any
}

func (s spec) json(t *testing.T) []byte {
	t.Helper()
	if s.actionType == "" {
		s.actionType = Custom
	}
	if s.method == "" {
		s.method = http.MethodPost
	}
	if s.url == "" {
		s.url = "https://api.example.com/things"
	}
	req := map[string]any{"requestUrlTemplate": s.url, "requestType": s.method, "headers": s.headers}
	if s.body != nil {
		req["requestTemplate"] = *s.body
	}
	resp := map[string]any{"translationMap": s.translationMap, "translationMapDefaults": s.defaults}
	if s.success != nil {
		resp["successTemplate"] = *s.success
	}
	config := map[string]any{"request": req, "response": resp}
	if s.timeout != nil {
		config["timeoutSeconds"] = s.timeout
	}
	d := map[string]any{
		"name":            "test action",
		"integrationType": IntegrationType,
		"actionType":      s.actionType,
		"config":          config,
		"contract": map[string]any{
			"input":  map[string]any{"inputSchema": s.input},
			"output": map[string]any{"successSchema": s.output},
		},
		"secure": false,
	}
	data, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func (s spec) parse(t *testing.T) *Action {
	t.Helper()
	a, err := Parse(s.json(t))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func ptr(s string) *string { return &s }

// echo answers a JSON object describing the request it received.
func echo(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"method": r.Method, "uri": r.URL.RequestURI(), "header": r.Header, "body": string(body),
	})
}

func serve(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}

func TestTranslations(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		body           string
		translationMap map[string]string
		defaults       map[string]string
		success        string
		want           string
		err            error
	}{
		"string arrives quoted": {
			body: `{"user":{"name":"Ada"}}`, translationMap: map[string]string{"name": "$.user.name"},
			success: `{"name": ${name}}`, want: `{"name":"Ada"}`,
		},
		"numbers keep their text": {
			body: `{"n":12345678901234567890,"f":1.50}`, translationMap: map[string]string{"n": "$.n", "f": "$.f"},
			success: `{"n": ${n}, "f": ${f}}`, want: `{"n":12345678901234567890,"f":1.50}`,
		},
		"object and array": {
			body: `{"a":{"b":[1,2]},"list":[{"k":"x"},{"k":"y"}]}`, translationMap: map[string]string{"obj": "$.a", "ks": "$.list[*].k"},
			success: `{"obj": ${obj}, "ks": ${ks}}`, want: `{"obj":{"b":[1,2]},"ks":["x","y"]}`,
		},
		"html is not escaped": {
			body: `{"s":"<a&b>"}`, translationMap: map[string]string{"s": "$.s"},
			success: `{"s": ${s}}`, want: `{"s":"<a&b>"}`,
		},
		"default when nothing resolves": {
			body: `{}`, translationMap: map[string]string{"name": "$.user.name"}, defaults: map[string]string{"name": `"unknown"`},
			success: `{"name": ${name}}`, want: `{"name":"unknown"}`,
		},
		"null takes no default": {
			body: `{"user":{"name":null}}`, translationMap: map[string]string{"name": "$.user.name"}, defaults: map[string]string{"name": `"unknown"`},
			success: `{"name": ${name}}`, want: `{"name":null}`,
		},
		"empty list is found": {
			body: `{"list":[]}`, translationMap: map[string]string{"ks": "$.list[*].k"}, defaults: map[string]string{"ks": `["none"]`},
			success: `{"ks": ${ks}}`, want: `{"ks":[]}`,
		},
		"no default fails": {
			body: `{}`, translationMap: map[string]string{"name": "$.user.name"},
			success: `{"name": ${name}}`, err: ErrTranslation,
		},
		"filter on a primitive fails": {
			body: `{"a":1}`, translationMap: map[string]string{"x": "$.a[?(@.b)]"},
			success: `{}`, err: ErrTranslation,
		},
		"default is inserted as written": {
			body: `{}`, translationMap: map[string]string{"b": "$.b"}, defaults: map[string]string{"b": "UNKNOWN"},
			success: `{"b": ${b}}`, err: ErrOutput,
		},
		"rawResult and input": {
			body: `{"x":1}`, success: `{"raw": ${rawResult}, "q": "${input.q}", "all": ${input.rawRequest}}`,
			want: `{"raw":{"x":1},"q":"hello","all":{"q":"hello"}}`,
		},
		"empty body is an empty object": {
			body: "", success: `${rawResult}`, want: `{}`,
		},
		"invalid output": {
			body: `{}`, success: `{"a": }`, err: ErrOutput,
		},
		"not json": {
			body: `<html>oops</html>`, success: `${rawResult}`, err: ErrNotJSON,
		},
		"two json values": {
			body: `{} {}`, success: `${rawResult}`, err: ErrNotJSON,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := serve(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, tc.body) })
			a := spec{translationMap: tc.translationMap, defaults: tc.defaults, success: ptr(tc.success)}.parse(t)
			out, err := a.Run(t.Context(), json.RawMessage(`{"q":"hello"}`), RunOptions{Client: s.Client(), BaseURL: s.URL})
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("Run = %s, %v; want %v", out, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tc.want {
				t.Errorf("output %s, want %s", out, tc.want)
			}
		})
	}
}

// TestFailures runs reference exports into the failures Genesys Cloud
// sends down a flow's failure path.
func TestFailures(t *testing.T) {
	t.Parallel()
	const (
		teams      = "GenesysCloudBlueprints__update-ms-teams-user-presence-blueprint__Update-Teams-User-Presence.custom"
		agents     = "GenesysCloudBlueprints__wfm-hris-blueprint__Bamboo-Get-Agents.custom"
		zoom       = "GenesysCloudBlueprints__zoom-meetings-sms-blueprint__Create-Zoom-Meeting.custom"
		agentsPath = "GET /api/gateway.php/genesystest/v1/employees/directory"
	)
	tests := map[string]struct {
		export    string
		input     string
		responses map[string]response // replacing the case's own
		err       error
		status    int      // for an *HTTPError
		contains  []string // in the error message
	}{
		"input breaks the contract": {
			export: teams, input: `{"user": 5, "availability": "Busy"}`,
			err: ErrInput, contains: []string{"/user", "expected string"},
		},
		"input is not an object": {
			export: teams, input: `["user"]`, err: ErrInput,
		},
		"input is not json": {
			export: teams, input: `{"user":`, err: ErrInput,
		},
		"response is not json": {
			export: agents, responses: map[string]response{agentsPath: {Status: 200, Text: ptr("<html>maintenance</html>")}},
			err: ErrNotJSON,
		},
		"404": {
			export: agents, responses: map[string]response{},
			status: http.StatusNotFound, contains: []string{"404 Not Found", "no canned response"},
		},
		"500 with text": {
			export: agents, responses: map[string]response{agentsPath: {Status: 500, Text: ptr("upstream exploded")}},
			status: http.StatusInternalServerError, contains: []string{"upstream exploded"},
		},
		"output breaks the success schema": {
			export: zoom, responses: map[string]response{"POST /v2/users/host@example.com/meetings": {Status: 201, Body: json.RawMessage(`{"join_url": 5}`)}},
			err: ErrOutput, contains: []string{"/join_url", "expected string"},
		},
		"auth endpoint refuses": {
			export: zoom, responses: map[string]response{"POST /oauth/token": {Status: 401, Body: json.RawMessage(`{"reason":"Invalid client_id or client_secret","error":"invalid_client"}`)}},
			status: http.StatusUnauthorized, contains: []string{`custom auth action "ZoomServerToServerOAuth_UserMeetingCreation"`, "invalid_client"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			a, c, auth := loadCase(t, tc.export)
			if tc.input != "" {
				c.Input = json.RawMessage(tc.input)
			}
			if tc.responses != nil {
				for k, v := range c.Responses {
					if _, ok := tc.responses[k]; !ok && strings.Contains(k, "token") {
						tc.responses[k] = v // keep the auth endpoint unless replaced
					}
				}
				c.Responses = tc.responses
			}
			s := newServer(t, c.Responses)
			var trace []string
			out, err := a.Run(t.Context(), c.Input, s.options(c, auth, &trace))
			if err == nil {
				t.Fatalf("Run succeeded with %s", out)
			}
			if tc.err != nil && !errors.Is(err, tc.err) {
				t.Errorf("Run error %v, want %v", err, tc.err)
			}
			if tc.status != 0 {
				var he *HTTPError
				if !errors.As(err, &he) || he.Status != tc.status {
					t.Errorf("Run error %v, want an *HTTPError with status %d", err, tc.status)
				}
			}
			for _, s := range tc.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
		})
	}
}

func TestTooLarge(t *testing.T) {
	t.Parallel()
	s := serve(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `"`+strings.Repeat("x", MaxResponseBytes)+`"`)
	})
	_, err := spec{}.parse(t).Run(t.Context(), nil, RunOptions{Client: s.Client(), BaseURL: s.URL})
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("Run = %v, want ErrTooLarge", err)
	}
}

func TestDeadline(t *testing.T) {
	t.Parallel()
	s := serve(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := spec{}.parse(t).Run(ctx, nil, RunOptions{Client: s.Client(), BaseURL: s.URL})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v, want context.Canceled", err)
	}
}

func TestRequest(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		spec   spec
		input  string
		opts   RunOptions
		method string
		uri    string
		body   string
		header map[string]string // expected values; "" means absent
	}{
		"GET sends no body": {
			spec:  spec{method: http.MethodGet, url: "https://x.example/a/${input.id}?q=$esc.url(${input.q})"},
			input: `{"id":"7","q":"a b&c"}`, method: "GET", uri: "/a/7?q=a+b%26c", body: "",
		},
		"DELETE sends no body": {
			spec: spec{method: http.MethodDelete, body: ptr("ignored")}, method: "DELETE", uri: "/things", body: "",
		},
		"POST sends rawRequest by default": {
			spec: spec{}, input: `{ "b": 2,  "a": [1] }`, method: "POST", uri: "/things", body: `{"b":2,"a":[1]}`,
		},
		"PATCH renders the template": {
			spec: spec{method: http.MethodPatch, body: ptr(`{"name":"$esc.jsonString(${input.name})"}`)}, input: `{"name":"a\"b"}`,
			method: "PATCH", uri: "/things", body: `{"name":"a\"b"}`,
		},
		"headers as written plus genesys headers": {
			spec:   spec{headers: map[string]string{"x-api-key": "${credentials.apiKey}", "Accept": "application/json"}},
			opts:   RunOptions{Credentials: map[string]string{"apiKey": "k1"}, Header: http.Header{"ININ-Organization-Id": {"org-1"}, "inin-correlation-id": {"corr-1"}}},
			method: "POST", uri: "/things", body: "{}",
			header: map[string]string{"X-Api-Key": "k1", "Accept": "application/json", "Inin-Organization-Id": "org-1", "Inin-Correlation-Id": "corr-1"},
		},
		"basic auth replaces a template authorization": {
			spec:   spec{headers: map[string]string{"authorization": "Bearer nope"}},
			opts:   RunOptions{CredentialType: BasicAuth, Credentials: map[string]string{"userName": "u", "password": "p:w"}},
			method: "POST", uri: "/things", body: "{}",
			header: map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("u:p:w"))},
		},
		"basic auth accepts username and no password": {
			spec:   spec{},
			opts:   RunOptions{CredentialType: BasicAuth, Credentials: map[string]string{"username": "u"}},
			method: "POST", uri: "/things", body: "{}",
			header: map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("u:"))},
		},
		"unresolved references are sent as written": {
			spec:   spec{headers: map[string]string{"X-Missing": "${input.nope}", "X-Quiet": "a$!{input.nope}b"}},
			method: "POST", uri: "/things", body: "{}",
			header: map[string]string{"X-Missing": "${input.nope}", "X-Quiet": "ab"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := make(chan *http.Request, 1)
			bodies := make(chan string, 1)
			s := serve(t, func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				got <- r
				bodies <- string(b)
				io.WriteString(w, "{}")
			})
			tc.opts.Client, tc.opts.BaseURL = s.Client(), s.URL
			if _, err := tc.spec.parse(t).Run(t.Context(), json.RawMessage(tc.input), tc.opts); err != nil {
				t.Fatal(err)
			}
			r, body := <-got, <-bodies
			if r.Method != tc.method || r.URL.RequestURI() != tc.uri || body != tc.body {
				t.Errorf("got %s %s %q, want %s %s %q", r.Method, r.URL.RequestURI(), body, tc.method, tc.uri, tc.body)
			}
			for k, want := range tc.header {
				if vs := r.Header.Values(k); len(vs) != 1 || vs[0] != want {
					t.Errorf("header %s = %q, want %q", k, vs, want)
				}
			}
			if tc.header[CorrelationHeader] == "" && tc.header["Inin-Correlation-Id"] == "" {
				if _, err := uuid.Parse(r.Header.Get(CorrelationHeader)); err != nil {
					t.Errorf("correlation id %q is not a UUID", r.Header.Get(CorrelationHeader))
				}
			}
		})
	}
}

func TestRunOptions(t *testing.T) {
	t.Parallel()
	custom := spec{}
	auth := spec{actionType: CustomAuth}
	tests := map[string]struct {
		opts func(t *testing.T) RunOptions
		want string
	}{
		"unknown credential type":   {func(t *testing.T) RunOptions { return RunOptions{CredentialType: "oauth"} }, `unknown credential type "oauth"`},
		"oauth without auth action": {func(t *testing.T) RunOptions { return RunOptions{CredentialType: UserDefinedOAuth} }, "needs the integration's custom auth action"},
		"auth action without oauth": {func(t *testing.T) RunOptions { return RunOptions{Auth: auth.parse(t)} }, `needs credential type "userDefinedOAuth"`},
		"auth action of the wrong type": {func(t *testing.T) RunOptions {
			return RunOptions{CredentialType: UserDefinedOAuth, Auth: custom.parse(t)}
		}, `want "customAuth"`},
		"basic without user":   {func(t *testing.T) RunOptions { return RunOptions{CredentialType: BasicAuth} }, `needs the credential field "userName"`},
		"base url with a path": {func(t *testing.T) RunOptions { return RunOptions{BaseURL: "http://127.0.0.1:1/api"} }, "want scheme://host[:port]"},
		"base url not http":    {func(t *testing.T) RunOptions { return RunOptions{BaseURL: "ftp://127.0.0.1"} }, "want scheme://host[:port]"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := custom.parse(t).Run(t.Context(), nil, tc.opts(t))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Run = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestBadURL(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"relative":   "/api/v2/users",
		"unresolved": "${credentials.base}/x",
		"not http":   "ftp://example.com/x",
	}
	for name, u := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := spec{url: u}.parse(t).Run(t.Context(), nil, RunOptions{})
			if err == nil || !strings.Contains(err.Error(), "requestUrlTemplate rendered") {
				t.Errorf("Run = %v", err)
			}
		})
	}
}

// TestOAuthFlow runs a reference custom action with its reference customAuth
// action: one token request per Run, its access_token in the header.
func TestOAuthFlow(t *testing.T) {
	t.Parallel()
	const name = "GenesysCloudBlueprints__update-zoom-presence-from-inbound-interaction-trigger-blueprint__Update-Zoom-User-Presence.custom"
	a, c, auth := loadCase(t, name)
	s := newServer(t, c.Responses)
	var trace []string
	for range 2 {
		out, err := a.Run(t.Context(), c.Input, s.options(c, auth, &trace))
		if err != nil || string(out) != "{}" {
			t.Fatalf("Run = %s, %v", out, err)
		}
	}
	reqs := s.received()
	if len(reqs) != 4 {
		t.Fatalf("server received %d requests, want 4 (token, action, token, action)", len(reqs))
	}
	wantAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte(c.Credentials["clientId"]+":"+c.Credentials["clientSecret"]))
	if reqs[0].URL != "/oauth/token?grant_type=account_credentials&account_id=Zx9AcC0unt" || reqs[0].Header["Authorization"] != wantAuth {
		t.Errorf("token request %+v", reqs[0])
	}
	if got := reqs[1].Header["Authorization"]; got != "bearer zoom-presence-token-7f3a" {
		t.Errorf("action Authorization %q", got)
	}
	if reqs[1].Method != http.MethodPut || reqs[1].Body != "{\n      \"status\": \"Do_Not_Disturb\"\n  }" {
		t.Errorf("action request %+v", reqs[1])
	}
}

// TestRedaction runs an OAuth flow and a Basic one whose servers echo
// everything they receive, with canary credentials, and checks that no
// trace line and no error carries a canary in any encoding.
func TestRedaction(t *testing.T) {
	t.Parallel()
	creds := map[string]string{
		"loginUrl":     "http://login.example/oauth/token?tenant=canary-tenant-7Q",
		"clientId":     "canary-client-id-3K",
		"clientSecret": `canary/secret+value "quoted" 9Z`,
		"apiKey":       "canary-api-key-5M",
	}
	const token = "canary-access-token-1X"
	canaries := []string{token, "canary-refresh-token-2Y", "canary-tenant-7Q"}
	for _, v := range creds {
		canaries = append(canaries, v)
	}
	var encoded []string
	for _, c := range canaries {
		quoted, _ := json.Marshal(c)
		encoded = append(encoded, c, string(quoted[1:len(quoted)-1]), url.QueryEscape(c), url.PathEscape(c),
			base64.StdEncoding.EncodeToString([]byte(c)))
	}
	encoded = append(encoded,
		base64.StdEncoding.EncodeToString([]byte(creds["clientId"]+":"+creds["clientSecret"])),
		base64.StdEncoding.EncodeToString([]byte("canary-user-8W:canary-password-4V")),
		"canary-user-8W", "canary-password-4V")

	s := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/oauth/token" {
			body, _ := io.ReadAll(r.Body)
			json.NewEncoder(w).Encode(map[string]any{
				"access_token": token, "refresh_token": "canary-refresh-token-2Y", "token_type": "bearer", "expires_in": 3600,
				"echo": map[string]any{"uri": r.URL.RequestURI(), "header": r.Header, "body": string(body)},
			})
			return
		}
		if r.URL.Path == "/fail" {
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(map[string]any{"header": r.Header, "uri": r.URL.RequestURI()})
			return
		}
		echo(w, r)
	})
	customAuth := spec{
		actionType: CustomAuth,
		url:        "${credentials.loginUrl}&key=$esc.url(${credentials.apiKey})",
		headers:    map[string]string{"Authorization": `Basic $encoding.base64("${credentials.clientId}:${credentials.clientSecret}")`},
		body:       ptr(`{"client_secret":"$esc.jsonString(${credentials.clientSecret})","id":"${credentials.clientId}"}`),
	}.parse(t)
	action := spec{
		url:     "https://api.example/things/$esc.url(${credentials.apiKey})?t=${authResponse.access_token}&q=${input.q}",
		headers: map[string]string{"Authorization": "Bearer ${authResponse.access_token}", "X-Api-Key": "${credentials.apiKey}", "X-Both": "${credentials.clientId}-${authResponse.refresh_token}"},
		body:    ptr(`{"secret":"${credentials.clientSecret}","token":"${authResponse.access_token}"}`),
	}.parse(t)
	failing := spec{url: "https://api.example/fail?k=${credentials.apiKey}", headers: map[string]string{"Authorization": "Bearer ${authResponse.access_token}"}}.parse(t)
	basic := spec{headers: map[string]string{"X-User": "${credentials.userName}", "X-Pin": "pin ${credentials.pin}"}}.parse(t)

	var lines []string
	trace := func(step, detail string) { lines = append(lines, step+": "+detail) }
	oauth := RunOptions{Client: s.Client(), BaseURL: s.URL, CredentialType: UserDefinedOAuth, Credentials: creds, Auth: customAuth, Trace: trace}
	out, err := action.Run(t.Context(), json.RawMessage(`{"q":"visible"}`), oauth)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), token) {
		t.Errorf("the output should carry the echoed token (it is the action's result): %s", out)
	}
	_, err = failing.Run(t.Context(), nil, oauth)
	var he *HTTPError
	if !errors.As(err, &he) {
		t.Fatalf("failing Run = %v", err)
	}
	errText := err.Error() + he.Body
	_, err = basic.Run(t.Context(), nil, RunOptions{Client: s.Client(), BaseURL: s.URL, CredentialType: BasicAuth,
		Credentials: map[string]string{"userName": "canary-user-8W", "password": "canary-password-4V", "pin": "739"}, Trace: trace})
	if err != nil {
		t.Fatal(err)
	}

	if len(lines) < 20 {
		t.Fatalf("only %d trace lines", len(lines))
	}
	all := strings.Join(lines, "\n") + "\n" + errText
	for _, c := range encoded {
		if strings.Contains(all, c) {
			t.Errorf("canary %q leaked", c)
		}
	}
	for _, want := range []string{"[redacted]", "visible", "header: Authorization: Basic [redacted]", "header: Authorization: Bearer [redacted]", "auth header: Authorization: Basic [redacted]", "header: X-Pin: pin [redacted]"} {
		if !strings.Contains(all, want) {
			t.Errorf("trace lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("trace:\n%s", all)
	}
}
