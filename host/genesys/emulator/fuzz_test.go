package emulator

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// FuzzParse parses arbitrary definitions (seeds: testdata/fuzz/FuzzParse,
// the 18 reference exports and a few small ones). Parse must never panic;
// what it accepts must hold its invariants and run against a local server
// without panicking, whatever the run's outcome.
func FuzzParse(f *testing.F) {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, `{"a":[1,{"b":"c"}],"access_token":"t0ken-value","token_type":"bearer"}`)
	}))
	defer s.Close()
	f.Add([]byte(`{"name":"x","integrationType":"custom-rest-actions","actionType":"custom","config":{"request":{"requestUrlTemplate":"https://x/","requestType":"GET"}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := Parse(data)
		if err != nil {
			return
		}
		if a.Name == "" || a.Timeout < time.Second || a.Timeout > time.Minute {
			t.Fatalf("Parse accepted name %q, timeout %v", a.Name, a.Timeout)
		}
		if a.ActionType != Custom && a.ActionType != CustomAuth {
			t.Fatalf("Parse accepted action type %q", a.ActionType)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		out, err := a.Run(ctx, json.RawMessage(`{"a":"b","n":1}`), RunOptions{
			Client:      s.Client(),
			BaseURL:     s.URL,
			Credentials: map[string]string{"k": "secret-value", "loginUrl": "http://login.example/token"},
			Trace:       func(step, detail string) {},
		})
		if err == nil && !json.Valid(out) {
			t.Fatalf("Run returned invalid JSON %q", out)
		}
	})
}
