// Command testplugin is a plugin that misbehaves on purpose, for the host's
// tests: it panics, sleeps past its budget, breaks its output contract, fails
// with typed and plain errors, exits mid-request and reports its environment.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/switchboard-dev/switchboard/sdk"
)

const anyObject = `{"type":"object"}`

// variant is set at link time (-X main.variant=...) to build binaries that
// differ, for hot-swap tests.
var variant = "a"

// cancelled counts the invocations of awaitCancel whose context ended, as
// the handler saw it.
var cancelled atomic.Int64

func main() {
	if err := sdk.Serve(
		sdk.NewAction("panic").Input(anyObject).
			Handle(func(ctx context.Context, req *sdk.Request) (any, error) {
				panic("boom")
			}),
		sdk.NewAction("slow").Timeout(300*time.Millisecond).
			Input(`{"type":"object","properties":{"ms":{"type":"integer"},"honourDeadline":{"type":"boolean"}},"required":["ms"]}`).
			Handle(func(ctx context.Context, req *sdk.Request) (any, error) {
				var in struct {
					MS             int  `json:"ms"`
					HonourDeadline bool `json:"honourDeadline"`
				}
				if err := req.Decode(&in); err != nil {
					return nil, err
				}
				if in.HonourDeadline {
					select {
					case <-time.After(time.Duration(in.MS) * time.Millisecond):
					case <-ctx.Done():
						return nil, ctx.Err()
					}
				} else {
					time.Sleep(time.Duration(in.MS) * time.Millisecond)
				}
				return map[string]any{"slept": in.MS}, nil
			}),
		sdk.NewAction("badOutput").
			Output(`{"type":"object","properties":{"id":{"type":"string"}},"required":["id"]}`).
			Handle(func(ctx context.Context, req *sdk.Request) (any, error) {
				return map[string]any{"id": 5}, nil
			}),
		sdk.NewAction("badEmail").
			Output(`{"type":"object","properties":{"email":{"type":"string","format":"email"}},"required":["email"]}`).
			Handle(func(ctx context.Context, req *sdk.Request) (any, error) {
				return map[string]any{"email": "jane.doe.at.example.com"}, nil
			}),
		sdk.NewAction("logInput").
			Input(`{"type":"object","properties":{"value":{"type":"string"}},"required":["value"]}`).
			Handle(func(ctx context.Context, req *sdk.Request) (any, error) {
				var in struct{ Value string }
				if err := req.Decode(&in); err != nil {
					return nil, err
				}
				req.Logger().Info("the caller sent: "+in.Value, "value", in.Value) // as a careless plugin would
				return map[string]any{}, nil
			}),
		sdk.NewAction("notObject").
			Handle(func(ctx context.Context, req *sdk.Request) (any, error) {
				return []string{"a"}, nil
			}),
		sdk.NewAction("fail").
			Input(`{"type":"object","properties":{"typed":{"type":"boolean"}}}`).
			Handle(func(ctx context.Context, req *sdk.Request) (any, error) {
				var in struct{ Typed bool }
				if err := req.Decode(&in); err != nil {
					return nil, err
				}
				if in.Typed {
					return nil, sdk.Errorf(404, "user_not_found", "no such user")
				}
				return nil, errors.New("database password is hunter2") // must not reach the caller
			}),
		sdk.NewAction("exit").
			Handle(func(ctx context.Context, req *sdk.Request) (any, error) {
				os.Exit(3)
				return nil, nil
			}),
		sdk.NewAction("env").
			Handle(func(ctx context.Context, req *sdk.Request) (any, error) {
				wd, _ := os.Getwd()
				return map[string]any{"env": os.Environ(), "wd": wd, "tmp": os.TempDir()}, nil
			}),
		sdk.NewAction("lookup").
			Input(`{"type":"object","properties":{"userId":{"type":"string"},"lang":{"type":"string"}},"required":["userId"]}`).
			Map("/userId", "/data/user/id").
			MapDefault("/lang", "/data/lang", "en-IE").
			MapDefault("/org", "/metadata/organizationId", "").
			Map("/requestId", "/requestId").
			Handle(func(ctx context.Context, req *sdk.Request) (any, error) {
				return req.Input(), nil
			}),
		sdk.NewAction("callOut").Uses("genesys").
			Input(`{"type":"object","properties":{"connection":{"type":"string"},"method":{"type":"string"},"url":{"type":"string"},"arg":{"type":"string"},"headerName":{"type":"string"},"headerValue":{"type":"string"}},"required":["connection","url"]}`).
			Handle(callOut),
		sdk.NewAction("serviceStatus").
			Output(`{"type":"object","properties":{"status":{"type":"string"}},"required":["status"]}`).
			Cache(sdk.CachePolicy{TTL: 30 * time.Second}).
			Handle(func(ctx context.Context, req *sdk.Request) (any, error) {
				return map[string]any{"status": "up"}, nil
			}),
		sdk.NewAction("awaitCancel").
			Handle(func(ctx context.Context, req *sdk.Request) (any, error) {
				<-ctx.Done()
				cancelled.Add(1)
				return nil, ctx.Err()
			}),
		sdk.NewAction("cancelled").
			Handle(func(ctx context.Context, req *sdk.Request) (any, error) {
				return map[string]any{"count": cancelled.Load()}, nil
			}),
		sdk.NewAction("meta").
			Handle(func(ctx context.Context, req *sdk.Request) (any, error) {
				req.Logger().Info("meta called")
				md := req.Metadata()
				return map[string]any{
					"requestId": req.RequestID(), "correlationId": md.CorrelationID,
					"organizationId": md.OrganizationID, "userId": md.UserID,
					"deadlineSet": hasDeadline(ctx), "action": req.Action(),
					"upper": strings.ToUpper(req.Action()), "pid": os.Getpid(), "variant": variant,
					"traceparent": md.TraceParent,
				}, nil
			}),
	); err != nil {
		fmt.Fprintln(os.Stderr, "testplugin:", err)
		os.Exit(1)
	}
}

// callOut makes the HTTP call its input describes, through the host, and
// reports what came back.
func callOut(ctx context.Context, req *sdk.Request) (any, error) {
	var in struct {
		Connection, Method, URL, HeaderName, HeaderValue string
		Arg                                              *string // with arg, url is a path template with one placeholder
	}
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if in.Method == "" {
		in.Method = http.MethodGet
	}
	client := req.HTTP(in.Connection)
	// No deadline in the context: the action's must still apply.
	var args []string
	if in.Arg != nil {
		args = append(args, *in.Arg)
	}
	hr, err := client.NewRequest(context.Background(), in.Method, in.URL, nil, args...)
	if err != nil {
		return nil, err
	}
	if in.HeaderName != "" {
		hr.Header.Set(in.HeaderName, in.HeaderValue)
	}
	resp, err := client.Do(hr)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return map[string]any{"status": resp.StatusCode, "body": string(body), "attempts": resp.Header.Get(sdk.AttemptsHeader)}, nil
}

func hasDeadline(ctx context.Context) bool {
	_, ok := ctx.Deadline()
	return ok
}
