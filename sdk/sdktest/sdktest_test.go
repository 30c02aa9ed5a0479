package sdktest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/sdk"
	"github.com/switchboard-dev/switchboard/sdk/contract"
	"github.com/switchboard-dev/switchboard/sdk/sdktest"
)

// lookup fetches contact 7 from the crm connection.
func lookup() *sdk.Action {
	return sdk.NewAction("lookup").Uses("crm").Handle(func(ctx context.Context, req *sdk.Request) (any, error) {
		resp, err := req.HTTP("crm").Get("/contacts/{id}", "7")
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			return nil, sdk.Errorf(404, "contact_not_found", "no contact")
		}
		var c map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
			return nil, err
		}
		c["attempts"] = resp.Header.Get(sdk.AttemptsHeader)
		return c, nil
	})
}

// crm answers GET /contacts/7 on the crm connection.
func crm() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/contacts/7" || r.Host != "crm.connection" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, `{"name":"Aoife"}`)
	})
}

func handle(v any, err error) sdk.Handler {
	return func(ctx context.Context, req *sdk.Request) (any, error) { return v, err }
}

// The host's checks, each in the terms the host would use.
func TestChecks(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		action   *sdk.Action
		input    string
		opts     []sdktest.Option
		want     string   // the output, when the invocation succeeds
		wantCode string   // the *sdk.Error's code, when the host would answer
		wantRule string   // the contract rule broken
		wantText []string // what the error says
	}{
		"valid": {
			action: sdk.NewAction("greet").
				Input(`{"type":"object","properties":{"name":{"type":"string"}},"required":["name"]}`).
				Output(`{"type":"object","properties":{"greeting":{"type":"string"}},"required":["greeting"]}`).
				Handle(handle(map[string]string{"greeting": "hi"}, nil)),
			input: `{"name":"Aoife"}`, want: `{"greeting":"hi"}`,
		},
		"input breaks a contract rule": {
			action:   sdk.NewAction("nested").Input(`{"type":"object","properties":{"address":{"type":"object"}}}`).Handle(handle(nil, nil)),
			input:    `{}`,
			wantRule: contract.RuleInputFlat,
			wantText: []string{`action "nested"`, "rule input-flat", "/properties/address"},
		},
		"output breaks a contract rule": {
			action:   sdk.NewAction("matrix").Output(`{"type":"object","properties":{"m":{"type":"array","items":{"type":"array"}}}}`).Handle(handle(nil, nil)),
			input:    `{}`,
			wantRule: contract.RuleOutputNestedArray,
			wantText: []string{`action "matrix"`, "rule output-nested-array"},
		},
		"schema does not compile": {
			action:   sdk.NewAction("broken").Output(`{"type":"object","properties":{"n":{"type":"number","minimum":"one"}}}`).Handle(handle(nil, nil)),
			input:    `{}`,
			wantText: []string{`action "broken": output schema`, "compile schema"},
		},
		"mistake in the description": {
			action:   sdk.NewAction("nohandler"),
			input:    `{}`,
			wantText: []string{`action "nohandler": no handler`},
		},
		"input breaks the schema": {
			action:   sdk.NewAction("greet").Input(`{"type":"object","properties":{"name":{"type":"string"}},"required":["name"]}`).Handle(handle(nil, nil)),
			input:    `{"name":7}`,
			wantCode: "invalid_input",
			wantText: []string{`the input of action "greet" does not match its schema`, "/name"},
		},
		"input is not an object": {
			action:   sdk.NewAction("greet").Handle(handle(nil, nil)),
			input:    `["Aoife"]`,
			wantCode: "invalid_input",
			wantText: []string{"must be a JSON object"},
		},
		"output breaks the schema": {
			action:   sdk.NewAction("badOutput").Output(`{"type":"object","properties":{"id":{"type":"string"}},"required":["id"]}`).Handle(handle(map[string]int{"id": 5}, nil)),
			input:    `{}`,
			wantCode: "invalid_output",
			wantText: []string{`the output of action "badOutput" does not match its schema`, "/id"},
		},
		"output is not an object": {
			action:   sdk.NewAction("list").Handle(handle([]int{1}, nil)),
			input:    `{}`,
			wantCode: "invalid_output",
			wantText: []string{"must be a JSON object"},
		},
		"declared connection not given": {
			action:   lookup(),
			input:    `{}`,
			wantText: []string{`action "lookup" uses connection "crm"`, "sdktest.Connection"},
		},
		"undeclared connection": {
			action: sdk.NewAction("sneaky").Handle(func(ctx context.Context, req *sdk.Request) (any, error) {
				_, err := req.HTTP("crm").Get("/contacts/7")
				return nil, err
			}),
			input:    `{}`,
			opts:     []sdktest.Option{sdktest.Connection("crm", crm())},
			wantCode: "outbound_refused",
			wantText: []string{`action "sneaky" did not declare connection "crm"`},
		},
		"timeout": {
			action: sdk.NewAction("slow").Timeout(50 * time.Millisecond).Handle(func(ctx context.Context, req *sdk.Request) (any, error) {
				<-ctx.Done()
				return nil, ctx.Err()
			}),
			input:    `{}`,
			wantCode: "timeout",
		},
		"connection": {
			action: lookup(),
			input:  `{}`,
			opts:   []sdktest.Option{sdktest.Connection("crm", crm())},
			want:   `{"attempts":"1","name":"Aoife"}`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			out, err := sdktest.Invoke(context.Background(), tc.action, json.RawMessage(tc.input), tc.opts...)
			if tc.want != "" {
				if err != nil || string(out) != tc.want {
					t.Fatalf("got %s, %v; want %s", out, err, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("got %s, want an error", out)
			}
			var e *sdk.Error
			if isTyped := errors.As(err, &e); isTyped != (tc.wantCode != "") || (isTyped && e.Code != tc.wantCode) {
				t.Errorf("error %v, want code %q", err, tc.wantCode)
			}
			var v contract.Violation
			if tc.wantRule != "" && (!errors.As(err, &v) || v.Rule != tc.wantRule) {
				t.Errorf("error %v, want a violation of %s", err, tc.wantRule)
			}
			for _, w := range tc.wantText {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestServe(t *testing.T) {
	t.Parallel()
	who := sdk.NewAction("who").Uses("crm").Handle(func(ctx context.Context, req *sdk.Request) (any, error) {
		resp, err := req.HTTP("crm").Get("/whoami")
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		var from map[string]string
		if err := json.NewDecoder(resp.Body).Decode(&from); err != nil {
			return nil, err
		}
		return map[string]string{"requestId": req.RequestID(), "user": req.Metadata().UserID, "from": from["from"]}, nil
	})
	answer := func(from string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintf(w, `{"from":%q}`, from) })
	}
	p := sdktest.Serve(t, []*sdk.Action{who, lookup()},
		sdktest.Connection("crm", answer("plugin-wide")), sdktest.Metadata(sdk.Metadata{UserID: "u-1"}))

	if got, want := p.Actions(), []sdk.ActionInfo{who.Info(), lookup().Info()}; !reflect.DeepEqual(got, want) {
		t.Errorf("Actions = %+v, want %+v", got, want)
	}
	tests := map[string]struct {
		opts []sdktest.Option
		want string
	}{
		"plugin-wide options": {nil, `{"from":"plugin-wide","requestId":"sdktest","user":"u-1"}`},
		"invocation options win": {
			[]sdktest.Option{sdktest.Connection("crm", answer("invocation")), sdktest.RequestID("r-9")},
			`{"from":"invocation","requestId":"r-9","user":"u-1"}`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			out, err := p.Invoke(context.Background(), "who", json.RawMessage(`{}`), tc.opts...)
			if err != nil || string(out) != tc.want {
				t.Errorf("got %s, %v; want %s", out, err, tc.want)
			}
		})
	}
	_, err := p.Invoke(context.Background(), "nope", json.RawMessage(`{}`))
	var e *sdk.Error
	if !errors.As(err, &e) || e.Code != "action_not_found" {
		t.Errorf("unknown action: %v", err)
	}
}

// build builds a main package of the module into the test's directory.
func build(t *testing.T, pkg string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", bin, "github.com/switchboard-dev/switchboard/"+pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", pkg, err, out)
	}
	return bin
}

func TestStart(t *testing.T) {
	t.Parallel()
	p := sdktest.Start(t, build(t, "plugins/echo"))
	if a := p.Actions(); len(a) != 1 || a[0].Name != "echo" || a[0].Version != "1.0.0" || len(a[0].Input) == 0 {
		t.Fatalf("actions: %+v", a)
	}
	out, err := p.Invoke(context.Background(), "echo", json.RawMessage(`{"message":"hi"}`))
	if err != nil || string(out) != `{"message":"hi"}` {
		t.Errorf("invoke: %s %v", out, err)
	}
	_, err = p.Invoke(context.Background(), "echo", json.RawMessage(`{}`))
	var e *sdk.Error
	if !errors.As(err, &e) || e.Code != "invalid_input" {
		t.Errorf("input without message: %v", err)
	}
}

func TestStartWithConnection(t *testing.T) {
	t.Parallel()
	genesys := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Host != "genesys.connection" || r.Header.Get("Accept") != "application/json":
			http.Error(w, "bad request", http.StatusBadRequest)
		case r.URL.Path == "/api/v2/users/u 1":
			fmt.Fprint(w, `{"id":"u 1","name":"Aoife","email":"aoife@example.com","extra":true}`)
		default:
			http.NotFound(w, r)
		}
	})
	p := sdktest.Start(t, build(t, "plugins/genesys-users"), sdktest.Connection("genesys", genesys))
	if a := p.Actions(); len(a) != 1 || a[0].Name != "fetchUserProfile" || !reflect.DeepEqual(a[0].Uses, []string{"genesys"}) || a[0].Timeout != 8*time.Second {
		t.Fatalf("actions: %+v", a)
	}
	tests := map[string]struct {
		input    string
		want     string
		wantCode string
	}{
		"found":     {input: `{"userId":"u 1"}`, want: `{"id":"u 1","name":"Aoife","email":"aoife@example.com"}`},
		"not found": {input: `{"userId":"u-2"}`, wantCode: "user_not_found"},
		"no userId": {input: `{}`, wantCode: "invalid_input"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			out, err := p.Invoke(context.Background(), "fetchUserProfile", json.RawMessage(tc.input))
			if tc.wantCode == "" {
				if err != nil || string(out) != tc.want {
					t.Errorf("got %s, %v; want %s", out, err, tc.want)
				}
				return
			}
			var e *sdk.Error
			if !errors.As(err, &e) || e.Code != tc.wantCode {
				t.Errorf("error %v, want %s", err, tc.wantCode)
			}
		})
	}
}

func ExampleInvoke() {
	greet := sdk.NewAction("greet").
		Input(`{"type":"object","properties":{"name":{"type":"string"}},"required":["name"]}`).
		Output(`{"type":"object","properties":{"greeting":{"type":"string"}},"required":["greeting"]}`).
		Handle(func(ctx context.Context, req *sdk.Request) (any, error) {
			var in struct{ Name string }
			if err := req.Decode(&in); err != nil {
				return nil, err
			}
			return map[string]string{"greeting": "Hello, " + in.Name}, nil
		})
	out, err := sdktest.Invoke(context.Background(), greet, json.RawMessage(`{"name":"Aoife"}`))
	fmt.Println(string(out), err)
	_, err = sdktest.Invoke(context.Background(), greet, json.RawMessage(`{"name":7}`))
	fmt.Println(err)
	// Output:
	// {"greeting":"Hello, Aoife"} <nil>
	// invalid_input (400): the input of action "greet" does not match its schema: /name: expected string, but got number
}

func ExampleConnection() {
	crm := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"name":"Aoife"}`)
	})
	out, err := sdktest.Invoke(context.Background(), lookup(), json.RawMessage(`{}`), sdktest.Connection("crm", crm))
	fmt.Println(string(out), err)
	// Output: {"attempts":"1","name":"Aoife"} <nil>
}
