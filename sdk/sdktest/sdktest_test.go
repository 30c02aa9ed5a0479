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
	"testing"

	"github.com/switchboard-dev/switchboard/sdk"
	"github.com/switchboard-dev/switchboard/sdk/sdktest"
)

func lookup() *sdk.Action {
	return sdk.NewAction("lookup").Uses("crm").Handle(func(ctx context.Context, req *sdk.Request) (any, error) {
		resp, err := req.HTTP("crm").Get("/contacts/7")
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			return nil, sdk.Errorf(404, "contact_not_found", "no contact")
		}
		var c map[string]any
		json.NewDecoder(resp.Body).Decode(&c)
		return c, nil
	})
}

func TestConnection(t *testing.T) {
	t.Parallel()
	crm := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/contacts/7" || r.Host != "crm.connection" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, `{"name":"Aoife"}`)
	})
	out, err := lookup().Invoke(context.Background(), json.RawMessage(`{}`), sdktest.Connection("crm", crm))
	if err != nil || string(out) != `{"name":"Aoife"}` {
		t.Errorf("got %s %v", out, err)
	}
	// An undeclared connection is refused, as the host would.
	undeclared := sdk.NewAction("x").Handle(func(ctx context.Context, req *sdk.Request) (any, error) {
		_, err := req.HTTP("crm").Get("/")
		return nil, err
	})
	_, err = undeclared.Invoke(context.Background(), json.RawMessage(`{}`), sdktest.Connection("crm", crm))
	var e *sdk.Error
	if !errors.As(err, &e) || e.Code != "outbound_refused" {
		t.Errorf("undeclared connection: %v", err)
	}
}

func ExampleConnection() {
	genesys := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"name":"Aoife"}`)
	})
	out, err := lookup().Invoke(context.Background(), json.RawMessage(`{}`), sdktest.Connection("crm", genesys))
	fmt.Println(string(out), err)
	// Output: {"name":"Aoife"} <nil>
}

func TestStart(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "echo")
	build := exec.Command("go", "build", "-o", bin, "github.com/switchboard-dev/switchboard/plugins/echo")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	p := sdktest.Start(t, bin)
	if len(p.Actions) != 1 || p.Actions[0].GetName() != "echo" {
		t.Fatalf("actions: %v", p.Actions)
	}
	out, err := p.Invoke(context.Background(), "echo", json.RawMessage(`{"message":"hi"}`))
	if err != nil || string(out) != `{"message":"hi"}` {
		t.Errorf("invoke: %s %v", out, err)
	}
	_, err = p.Invoke(context.Background(), "nope", json.RawMessage(`{}`))
	var e *sdk.Error
	if !errors.As(err, &e) || e.Code != "action_not_found" {
		t.Errorf("unknown action: %v", err)
	}
}
