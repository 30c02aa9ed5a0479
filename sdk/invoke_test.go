package sdk_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/sdk"
	"github.com/switchboard-dev/switchboard/sdk/sdktest"
)

// The SDK's answers, through its gRPC server as the host receives them.
func TestInvoke(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		handler    sdk.Handler
		want       string
		wantStatus int
		wantCode   string
	}{
		"struct output": {
			handler: func(ctx context.Context, req *sdk.Request) (any, error) {
				return struct {
					ID string `json:"id"`
				}{"u-1"}, nil
			},
			want: `{"id":"u-1"}`,
		},
		"raw output passes through": {
			handler: func(ctx context.Context, req *sdk.Request) (any, error) { return req.Input(), nil },
			want:    `{"message": "hi"}`,
		},
		"nil output is an empty object": {
			handler: func(ctx context.Context, req *sdk.Request) (any, error) { return nil, nil },
			want:    `{}`,
		},
		"typed error": {
			handler: func(ctx context.Context, req *sdk.Request) (any, error) {
				return nil, sdk.Errorf(404, "user_not_found", "no user")
			},
			wantStatus: 404, wantCode: "user_not_found",
		},
		"wrapped typed error": {
			handler: func(ctx context.Context, req *sdk.Request) (any, error) {
				return nil, errors.Join(errors.New("context"), sdk.Errorf(409, "conflict", "busy"))
			},
			wantStatus: 409, wantCode: "conflict",
		},
		"plain error hides its text": {
			handler:    func(ctx context.Context, req *sdk.Request) (any, error) { return nil, errors.New("secret detail") },
			wantStatus: 500, wantCode: "action_failed",
		},
		"deadline": {
			handler:    func(ctx context.Context, req *sdk.Request) (any, error) { return nil, context.DeadlineExceeded },
			wantStatus: 504, wantCode: "timeout",
		},
		"panic": {
			handler:    func(ctx context.Context, req *sdk.Request) (any, error) { panic("boom") },
			wantStatus: 500, wantCode: "plugin_panic",
		},
		"unencodable output": {
			handler:    func(ctx context.Context, req *sdk.Request) (any, error) { return map[string]any{"f": func() {}}, nil },
			wantStatus: 500, wantCode: "invalid_output",
		},
		"decode failure is a 400": {
			handler: func(ctx context.Context, req *sdk.Request) (any, error) {
				var in struct{ Message int }
				return nil, req.Decode(&in)
			},
			wantStatus: 400, wantCode: "invalid_input",
		},
		"request": {
			handler: func(ctx context.Context, req *sdk.Request) (any, error) {
				return map[string]string{"action": req.Action(), "requestId": req.RequestID(), "user": req.Metadata().UserID, "string": req.String()}, nil
			},
			want: `{"action":"a","requestId":"sdktest","string":"a[sdktest]","user":""}`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			out, err := sdktest.Invoke(context.Background(), sdk.NewAction("a").Handle(tc.handler), json.RawMessage(`{"message": "hi"}`))
			if tc.wantCode == "" {
				if err != nil || string(out) != tc.want {
					t.Fatalf("got %s, %v; want %s", out, err, tc.want)
				}
				return
			}
			var e *sdk.Error
			if !errors.As(err, &e) || e.Status != tc.wantStatus || e.Code != tc.wantCode {
				t.Fatalf("error %v, want %d %s", err, tc.wantStatus, tc.wantCode)
			}
			if strings.Contains(e.Message, "secret detail") {
				t.Errorf("a plain error's text leaked: %q", e.Message)
			}
		})
	}
}
