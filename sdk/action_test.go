package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestInvoke(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		handler    Handler
		want       string
		wantStatus int
		wantCode   string
	}{
		"struct output": {
			func(ctx context.Context, req *Request) (any, error) {
				return struct {
					ID string `json:"id"`
				}{"u-1"}, nil
			}, `{"id":"u-1"}`, 0, "",
		},
		"raw output passes through": {
			func(ctx context.Context, req *Request) (any, error) { return req.Input(), nil },
			`{"message": "hi"}`, 0, "",
		},
		"nil output is an empty object": {
			func(ctx context.Context, req *Request) (any, error) { return nil, nil }, `{}`, 0, "",
		},
		"typed error": {
			func(ctx context.Context, req *Request) (any, error) {
				return nil, Errorf(404, "user_not_found", "no user")
			},
			"", 404, "user_not_found",
		},
		"wrapped typed error": {
			func(ctx context.Context, req *Request) (any, error) {
				return nil, errors.Join(errors.New("context"), Errorf(409, "conflict", "busy"))
			}, "", 409, "conflict",
		},
		"plain error hides its text": {
			func(ctx context.Context, req *Request) (any, error) { return nil, errors.New("secret detail") },
			"", 500, "action_failed",
		},
		"deadline": {
			func(ctx context.Context, req *Request) (any, error) { return nil, context.DeadlineExceeded },
			"", 504, "timeout",
		},
		"panic": {
			func(ctx context.Context, req *Request) (any, error) { panic("boom") },
			"", 500, "plugin_panic",
		},
		"unencodable output": {
			func(ctx context.Context, req *Request) (any, error) { return map[string]any{"f": func() {}}, nil },
			"", 500, "invalid_output",
		},
		"decode failure is a 400": {
			func(ctx context.Context, req *Request) (any, error) {
				var in struct{ Message int }
				return nil, req.Decode(&in)
			}, "", 400, "invalid_input",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			out, err := NewAction("a").Handle(tc.handler).Invoke(context.Background(), json.RawMessage(`{"message": "hi"}`))
			if tc.wantCode == "" {
				if err != nil || string(out) != tc.want {
					t.Fatalf("got %s, %v; want %s", out, err, tc.want)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Status != tc.wantStatus || e.Code != tc.wantCode {
				t.Fatalf("error %v, want %d %s", err, tc.wantStatus, tc.wantCode)
			}
			if strings.Contains(e.Message, "secret detail") {
				t.Errorf("a plain error's text leaked: %q", e.Message)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	ok := func(ctx context.Context, req *Request) (any, error) { return nil, nil }
	tests := map[string]struct {
		action *Action
		want   string // "" means valid
	}{
		"valid":            {NewAction("fetchUserProfile").Input(`{"type":"object"}`).Map("/userId", "/data/id").Timeout(time.Second).Handle(ok), ""},
		"empty name":       {NewAction("").Handle(ok), "must start with a letter"},
		"name with slash":  {NewAction("a/b").Handle(ok), "must start with a letter"},
		"name with digit":  {NewAction("1a").Handle(ok), "must start with a letter"},
		"no handler":       {NewAction("a"), "no handler"},
		"bad input schema": {NewAction("a").Input(`{"type":`).Handle(ok), "input schema"},
		"array schema":     {NewAction("a").Output(`[]`).Handle(ok), "output schema"},
		"bad target":       {NewAction("a").Map("userId", "/data/id").Handle(ok), "mapping target"},
		"root target":      {NewAction("a").Map("", "/data/id").Handle(ok), "mapping target"},
		"bad source":       {NewAction("a").Map("/a", "/data/~2").Handle(ok), "mapping source"},
		"bad default":      {NewAction("a").MapDefault("/a", "/data/a", func() {}).Handle(ok), "default of mapping"},
		"timeout too long": {NewAction("a").Timeout(2 * time.Minute).Handle(ok), "timeout"},
		"empty connection": {NewAction("a").Uses("").Handle(ok), "connection"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := tc.action.check()
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("check = %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
}

func TestNewServerRefusesDuplicates(t *testing.T) {
	t.Parallel()
	ok := func(ctx context.Context, req *Request) (any, error) { return nil, nil }
	if _, err := newServer([]*Action{NewAction("a").Handle(ok), NewAction("a").Handle(ok)}, nil); err == nil || !strings.Contains(err.Error(), "declared twice") {
		t.Errorf("duplicate actions: %v", err)
	}
	if _, err := newServer(nil, nil); err == nil {
		t.Error("no actions accepted")
	}
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	a := NewAction("fetchUserProfile").Description("d").Version("1.2.0").
		Input(`{"type":"object"}`).Output(`{"type":"object"}`).
		Map("/userId", "/data/userId").MapDefault("/lang", "/data/lang", "en").
		Uses("genesys").Timeout(8 * time.Second).Idempotent().Secure().
		Handle(func(ctx context.Context, req *Request) (any, error) { return nil, nil })
	pa := toAction(a)
	if pa.GetName() != "fetchUserProfile" || pa.GetVersion() != "1.2.0" || pa.GetDescription() != "d" ||
		pa.GetTimeout().AsDuration() != 8*time.Second || !pa.GetIdempotent() || !pa.GetSecure() ||
		len(pa.GetConnections()) != 1 || len(pa.GetMapping()) != 2 || string(pa.GetMapping()[1].GetDefaultJson()) != `"en"` {
		t.Errorf("toAction: %v", pa)
	}
}
