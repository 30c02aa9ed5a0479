package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/switchboard-dev/switchboard/host/genesys/internal/exports"
	"github.com/switchboard-dev/switchboard/host/internal/golden"
)

// testCorrelationID is sent as ININ-Correlation-Id, so goldens are stable.
const testCorrelationID = "5c3f1a2b-0d4e-4f60-8a7b-9c0d1e2f3a4b"

// testCase is a plausible run of one reference export (testdata/cases).
type testCase struct {
	Input          json.RawMessage     `json:"input"`
	CredentialType CredentialType      `json:"credentialType"`
	Credentials    map[string]string   `json:"credentials"`
	Auth           string              `json:"auth"` // name of the customAuth export, for OAuth
	Responses      map[string]response `json:"responses"`
}

// response is what the test server answers to "METHOD /path".
type response struct {
	Status int             `json:"status"`
	Body   json.RawMessage `json:"body"` // JSON, sent with Content-Type application/json
	Text   *string         `json:"text"` // or raw text
}

// recorded is a request the test server received.
type recorded struct {
	Method string            `json:"method"`
	URL    string            `json:"url"`
	Header map[string]string `json:"header"`
	Body   string            `json:"body,omitempty"`
}

// server is an httptest server answering canned responses and recording
// every request.
type server struct {
	*httptest.Server
	mu       sync.Mutex
	requests []recorded
}

func newServer(t *testing.T, responses map[string]response) *server {
	t.Helper()
	s := &server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec := recorded{Method: r.Method, URL: r.URL.RequestURI(), Header: map[string]string{}, Body: string(body)}
		for k, vs := range r.Header {
			switch k {
			case "User-Agent", "Accept-Encoding", "Content-Length":
			default:
				rec.Header[k] = strings.Join(vs, ", ")
			}
		}
		s.mu.Lock()
		s.requests = append(s.requests, rec)
		s.mu.Unlock()
		resp, ok := responses[r.Method+" "+r.URL.Path]
		if !ok {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"message":"no canned response for `+r.Method+" "+r.URL.Path+`"}`)
			return
		}
		if resp.Text != nil {
			w.WriteHeader(resp.Status)
			io.WriteString(w, *resp.Text)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(resp.Status)
		w.Write(resp.Body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *server) received() []recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// options are the RunOptions of a test run against s.
func (s *server) options(tc testCase, auth *Action, trace *[]string) RunOptions {
	return RunOptions{
		Client:         s.Client(),
		CredentialType: tc.CredentialType,
		Credentials:    tc.Credentials,
		Auth:           auth,
		BaseURL:        s.URL,
		Header:         http.Header{CorrelationHeader: {testCorrelationID}},
		Trace: func(step, detail string) {
			*trace = append(*trace, step+": "+strings.ReplaceAll(detail, s.URL, "http://test.server"))
		},
	}
}

func parseExport(t *testing.T, e exports.Export) *Action {
	t.Helper()
	a, err := Parse(e.Data)
	if err != nil {
		t.Fatalf("Parse(%s): %v", e.Name, err)
	}
	return a
}

// loadCase parses the reference export name and reads its case
// (testdata/cases), with the customAuth action the case names, if any.
func loadCase(t *testing.T, name string) (a *Action, tc testCase, auth *Action) {
	t.Helper()
	a = parseExport(t, exports.Read(t, name))
	exports.DecodeFile(t, filepath.Join("testdata", "cases", name+".json"), &tc)
	if tc.Auth != "" {
		auth = parseExport(t, exports.Read(t, tc.Auth))
	}
	return a, tc, auth
}

// unsupported are the reference exports of other integration types, which
// the emulator refuses: Genesys Cloud data actions (they call the Genesys
// Cloud API with the integration's own OAuth client), a function data
// action (it runs a Lambda) and a Salesforce one (it calls a Salesforce
// org through Genesys's Salesforce integration).
var unsupported = []string{
	"GenesysCloudBlueprints__ani-blacklist__Check-Conversation-For-PSTN-Leg.custom",
	"GenesysCloudBlueprints__design-architect-flow-data-actions-for-resiliency__Get-On-Queue-Agent-Counts",
	"GenesysCloudBlueprints__negative-sentiment-callback__Get-Sentiment",
	"GenesysCloudBlueprints__process-automation-trigger-with-salesforce__get-contact-by-phone-number",
	"MyPureCloud__quick-hits-javascript__genesysFunctionActionExampleExport",
}

// TestExports runs each of the 13 custom-rest-actions reference exports
// (../testdata/exports) with a plausible input and canned responses
// (testdata/cases) against a test server, and compares the requests the
// server received, the trace and the output with testdata/golden.
func TestExports(t *testing.T) {
	t.Parallel()
	ran := 0
	for _, e := range exports.All(t) {
		name := e.Name
		if slices.Contains(unsupported, name) {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				if _, err := Parse(e.Data); !errors.Is(err, ErrUnsupported) {
					t.Errorf("Parse = %v, want ErrUnsupported", err)
				}
			})
			continue
		}
		ran++
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			a, tc, auth := loadCase(t, name)
			s := newServer(t, tc.Responses)
			var trace []string
			out, err := a.Run(t.Context(), tc.Input, s.options(tc, auth, &trace))
			if err != nil {
				t.Fatalf("Run: %v\ntrace:\n%s", err, strings.Join(trace, "\n"))
			}
			result := struct {
				Requests []recorded     `json:"requests"`
				Trace    []string       `json:"trace"`
				Output   map[string]any `json:"output"`
			}{s.received(), trace, nil}
			if err := json.Unmarshal(out, &result.Output); err != nil {
				t.Fatalf("output %s: %v", out, err)
			}
			checkGolden(t, filepath.Join("testdata", "golden", name+".json"), result)
		})
	}
	if ran != 13 {
		t.Errorf("ran %d exports, want 13", ran)
	}
}

func checkGolden(t *testing.T, path string, v any) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, path, buf.Bytes())
}
