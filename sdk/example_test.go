package sdk_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard-dev/switchboard/sdk"
)

// A complete plugin: main hands its actions to Serve.
func ExampleServe() {
	echo := sdk.NewAction("echo").
		Input(`{"type":"object","properties":{"message":{"type":"string"}},"required":["message"]}`).
		Handle(func(ctx context.Context, req *sdk.Request) (any, error) {
			return req.Input(), nil
		})
	if false { // Serve only returns when the host stops the plugin.
		sdk.Serve(echo)
	}
}

func ExampleNewAction() {
	greet := sdk.NewAction("greet").
		Description("Greets a caller by name").
		Version("1.0.0").
		Input(`{"type":"object","properties":{"name":{"type":"string"}},"required":["name"]}`).
		Output(`{"type":"object","properties":{"greeting":{"type":"string"}},"required":["greeting"]}`).
		Timeout(2 * time.Second).
		Handle(func(ctx context.Context, req *sdk.Request) (any, error) {
			var in struct{ Name string }
			if err := req.Decode(&in); err != nil {
				return nil, err
			}
			return map[string]string{"greeting": "Hello, " + in.Name}, nil
		})
	out, err := greet.Invoke(context.Background(), json.RawMessage(`{"name":"Aoife"}`))
	fmt.Println(string(out), err)
	// Output: {"greeting":"Hello, Aoife"} <nil>
}

func ExampleAction_Map() {
	// The request {"customer": {"id": "c-42"}} becomes the input {"customerId": "c-42", "lang": "en-IE"}.
	sdk.NewAction("lookupCustomer").
		Map("/customerId", "/data/customer/id").
		MapDefault("/lang", "/data/lang", "en-IE").
		MapDefault("/org", "/metadata/organizationId", "")
}

func ExampleErrorf() {
	find := sdk.NewAction("findUser").Handle(func(ctx context.Context, req *sdk.Request) (any, error) {
		return nil, sdk.Errorf(404, "user_not_found", "no user with that id")
	})
	_, err := find.Invoke(context.Background(), json.RawMessage(`{}`))
	var e *sdk.Error
	if errors.As(err, &e) {
		fmt.Println(e.Status, e.Code, e.Retryable)
	}
	// Output: 404 user_not_found false
}

func ExampleRequest_Decode() {
	a := sdk.NewAction("sum").Handle(func(ctx context.Context, req *sdk.Request) (any, error) {
		var in struct{ A, B int }
		if err := req.Decode(&in); err != nil {
			return nil, err // a 400 "invalid_input"
		}
		return map[string]int{"sum": in.A + in.B}, nil
	})
	out, _ := a.Invoke(context.Background(), json.RawMessage(`{"a":2,"b":3}`))
	fmt.Println(string(out))
	_, err := a.Invoke(context.Background(), json.RawMessage(`{"a":"two"}`))
	fmt.Println(err.(*sdk.Error).Code)
	// Output:
	// {"sum":5}
	// invalid_input
}
