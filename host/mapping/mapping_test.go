package mapping

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/host/apierr"
)

func TestApply(t *testing.T) {
	t.Parallel()
	body := map[string]any{
		"userId":   "u-1",
		"customer": map[string]any{"phone": "+3531234567", "tags": []any{"vip", "ie"}},
	}
	doc := &Document{
		Data:      body,
		RequestID: "r-1",
		Action:    "lookup",
		Metadata:  map[string]string{"organizationId": "org-9"},
	}
	tests := map[string]struct {
		rules    []Rule
		want     string
		wantCode string
		wantMsg  string
	}{
		"no rules": {nil, `{}`, "", ""},
		"copy member": {
			[]Rule{{Target: "/userId", Source: "/data/userId"}},
			`{"userId":"u-1"}`, "", "",
		},
		"nested target and array source": {
			[]Rule{{Target: "/who/phone", Source: "/data/customer/phone"}, {Target: "/who/tag", Source: "/data/customer/tags/1"}},
			`{"who":{"phone":"+3531234567","tag":"ie"}}`, "", "",
		},
		"request id, action and metadata": {
			[]Rule{{Target: "/id", Source: "/requestId"}, {Target: "/a", Source: "/action"}, {Target: "/org", Source: "/metadata/organizationId"}},
			`{"a":"lookup","id":"r-1","org":"org-9"}`, "", "",
		},
		"default when missing": {
			[]Rule{{Target: "/lang", Source: "/data/lang", Default: json.RawMessage(`"en-IE"`)}},
			`{"lang":"en-IE"}`, "", "",
		},
		"default ignored when present": {
			[]Rule{{Target: "/userId", Source: "/data/userId", Default: json.RawMessage(`"nobody"`)}},
			`{"userId":"u-1"}`, "", "",
		},
		"object default is not shared": {
			[]Rule{{Target: "/opts", Source: "/data/opts", Default: json.RawMessage(`{"x":1}`)}, {Target: "/opts/y", Source: "/requestId"}},
			`{"opts":{"x":1,"y":"r-1"}}`, "", "",
		},
		"whole body": {
			[]Rule{{Target: "/body", Source: "/data"}},
			`{"body":{"customer":{"phone":"+3531234567","tags":["vip","ie"]},"userId":"u-1"}}`, "", "",
		},
		"required source missing": {
			[]Rule{{Target: "/userId", Source: "/data/user/id"}},
			"", "mapping_source_missing", "/data/user/id",
		},
		"missing metadata": {
			[]Rule{{Target: "/u", Source: "/metadata/userId"}},
			"", "mapping_source_missing", "/metadata/userId",
		},
		"conflicting targets": {
			[]Rule{{Target: "/a", Source: "/requestId"}, {Target: "/a/b", Source: "/action"}},
			"", "mapping_conflict", "/a",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			m, err := Compile(tc.rules)
			if err != nil {
				t.Fatal(err)
			}
			got, err := m.Apply(doc)
			if tc.wantCode != "" {
				var e *apierr.Error
				if !errors.As(err, &e) || e.Code != tc.wantCode || e.Status != 400 || !strings.Contains(e.Message, tc.wantMsg) {
					t.Fatalf("Apply error = %v, want 400 %s mentioning %q", err, tc.wantCode, tc.wantMsg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if b, _ := json.Marshal(got); string(b) != tc.want {
				t.Errorf("Apply = %s, want %s", b, tc.want)
			}
		})
	}
	// The default must be decoded anew each time: the rule above wrote into it.
	m, _ := Compile([]Rule{{Target: "/opts", Source: "/data/opts", Default: json.RawMessage(`{"x":1}`)}})
	got, _ := m.Apply(doc)
	if b, _ := json.Marshal(got); string(b) != `{"opts":{"x":1}}` {
		t.Errorf("default changed between requests: %s", b)
	}
}

func TestCompileErrors(t *testing.T) {
	t.Parallel()
	tests := map[string]Rule{
		"root target":        {Target: "", Source: "/data"},
		"bad target":         {Target: "userId", Source: "/data/userId"},
		"bad source escape":  {Target: "/a", Source: "/data/~2"},
		"unknown source top": {Target: "/a", Source: "/body/userId"},
		"bad default":        {Target: "/a", Source: "/data/a", Default: json.RawMessage(`{`)},
	}
	for name, r := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if _, err := Compile([]Rule{r}); err == nil {
				t.Errorf("Compile(%+v) succeeded", r)
			}
		})
	}
}
