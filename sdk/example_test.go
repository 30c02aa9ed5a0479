package sdk_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/switchboard-dev/switchboard/sdk"
	"github.com/switchboard-dev/switchboard/sdk/sdktest"
)

// A complete plugin: main hands its actions to Serve.
func ExampleServe() {
	echo := sdk.NewAction("echo").
		Input(`{"type":"object","properties":{"message":{"type":"string"}},"required":["message"]}`).
		Handle(func(ctx context.Context, req *sdk.Request) (any, error) {
			return req.Input(), nil
		})
	if false { // Serve returns only when the host stops the plugin.
		if err := sdk.Serve(echo); err != nil {
			fmt.Fprintln(os.Stderr, "echo:", err)
			os.Exit(1)
		}
	}
}

// Run by hand, a plugin serves nothing: Serve says why.
func ExampleServe_byHand() {
	err := sdk.Serve(sdk.NewAction("echo").Handle(func(ctx context.Context, req *sdk.Request) (any, error) {
		return req.Input(), nil
	}))
	fmt.Println(err)
	// Output: this program is a Switchboard plugin: the Switchboard host starts it (SWITCHBOARD_PLUGIN is not set), it is not meant to be run by hand
}

// Serve lists every mistake in the actions' descriptions.
func ExampleServe_mistakes() {
	err := sdk.Serve(
		sdk.NewAction("lookup/user"),
		sdk.NewAction("greet").Timeout(2*time.Minute).Handle(func(ctx context.Context, req *sdk.Request) (any, error) {
			return nil, nil
		}),
	)
	fmt.Println(err)
	// Output:
	// action "lookup/user": name "lookup/user": must start with a letter and hold only letters, digits, '.', '-' and '_' (at most 128)
	// no handler: call Handle
	// action "greet": timeout 2m0s: must be between 0 (host default) and 1m0s
}

// A test stops in-process serving with a context; package sdktest does it
// for you.
func ExampleServeWith() {
	ctx, cancel := context.WithCancel(context.Background())
	listening := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- sdk.ServeWith(sdk.ServeOptions{
			Context:   ctx,
			Logger:    hclog.NewNullLogger(),
			InProcess: func(addr net.Addr) { listening <- addr },
		}, sdk.NewAction("echo").Handle(func(ctx context.Context, req *sdk.Request) (any, error) {
			return req.Input(), nil
		}))
	}()
	addr := <-listening
	fmt.Println("serving on a", addr.Network(), "socket")
	cancel()
	fmt.Println(<-done)
	// Output:
	// serving on a unix socket
	// <nil>
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
	out, err := sdktest.Invoke(context.Background(), greet, json.RawMessage(`{"name":"Aoife"}`))
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
	_, err := sdktest.Invoke(context.Background(), find, json.RawMessage(`{}`))
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
	out, _ := sdktest.Invoke(context.Background(), a, json.RawMessage(`{"a":2,"b":3}`))
	fmt.Println(string(out))
	_, err := sdktest.Invoke(context.Background(), a, json.RawMessage(`{"a":"two"}`))
	fmt.Println(err.(*sdk.Error).Code)
	// Output:
	// {"sum":5}
	// invalid_input
}
