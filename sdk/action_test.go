package sdk

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestCheck(t *testing.T) {
	t.Parallel()
	ok := func(ctx context.Context, req *Request) (any, error) { return nil, nil }
	tests := map[string]struct {
		action *Action
		want   string // "" means valid
	}{
		"valid":             {NewAction("fetchUserProfile").Input(`{"type":"object"}`).Map("/userId", "/data/id").Timeout(time.Second).Handle(ok), ""},
		"empty name":        {NewAction("").Handle(ok), "must start with a letter"},
		"name with slash":   {NewAction("a/b").Handle(ok), "must start with a letter"},
		"name with digit":   {NewAction("1a").Handle(ok), "must start with a letter"},
		"no handler":        {NewAction("a"), "no handler"},
		"bad input schema":  {NewAction("a").Input(`{"type":`).Handle(ok), "input schema"},
		"array schema":      {NewAction("a").Output(`[]`).Handle(ok), "output schema"},
		"bad target":        {NewAction("a").Map("userId", "/data/id").Handle(ok), "mapping target"},
		"root target":       {NewAction("a").Map("", "/data/id").Handle(ok), "mapping target"},
		"bad source":        {NewAction("a").Map("/a", "/data/~2").Handle(ok), "mapping source"},
		"bad default":       {NewAction("a").MapDefault("/a", "/data/a", func() {}).Handle(ok), "default of mapping"},
		"timeout too long":  {NewAction("a").Timeout(2 * time.Minute).Handle(ok), "timeout"},
		"cache without ttl": {NewAction("a").Cache(CachePolicy{}).Handle(ok), "cache: ttl"},
		"cache key":         {NewAction("a").Cache(CachePolicy{TTL: time.Minute, Key: []string{"userId"}}).Handle(ok), `cache key "userId"`},
		"empty connection":  {NewAction("a").Uses("").Handle(ok), "connection"},
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

func TestInfo(t *testing.T) {
	t.Parallel()
	a := NewAction("fetchUserProfile").Description("d").Version("1.2.0").
		Input(`{"type":"object"}`).Output(`{"type":"object"}`).
		Map("/userId", "/data/userId").MapDefault("/lang", "/data/lang", "en").
		Uses("genesys").Timeout(8 * time.Second).Idempotent().Secure().
		Handle(func(ctx context.Context, req *Request) (any, error) { return nil, nil })
	want := ActionInfo{
		Name: "fetchUserProfile", Version: "1.2.0", Description: "d",
		Input: json.RawMessage(`{"type":"object"}`), Output: json.RawMessage(`{"type":"object"}`),
		Mapping: []MappingRule{{Target: "/userId", Source: "/data/userId"}, {Target: "/lang", Source: "/data/lang", Default: json.RawMessage(`"en"`)}},
		Uses:    []string{"genesys"}, Timeout: 8 * time.Second, Idempotent: true, Secure: true,
	}
	got := a.Info()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Info = %+v\nwant %+v", got, want)
	}
	got.Uses[0], got.Input[0], got.Mapping[1].Default[0] = "x", 'x', 'x'
	if again := a.Info(); !reflect.DeepEqual(again, want) {
		t.Errorf("changing Info's result changed the action: %+v", again)
	}
}
