package sdk

import (
	"context"
	"errors"
	"io"
	"net/http"
	"reflect"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/switchboard-dev/switchboard/proto/pluginv1"
)

func TestToAction(t *testing.T) {
	t.Parallel()
	a := NewAction("fetchUserProfile").Description("d").Version("1.2.0").
		Input(`{"type":"object"}`).Output(`{"type":"object"}`).
		Map("/userId", "/data/userId").MapDefault("/lang", "/data/lang", "en").
		Uses("genesys").Timeout(8 * time.Second).Idempotent().Secure().
		Handle(func(ctx context.Context, req *Request) (any, error) { return nil, nil })
	pa := toAction(a.Info())
	if pa.GetName() != "fetchUserProfile" || pa.GetVersion() != "1.2.0" || pa.GetDescription() != "d" ||
		string(pa.GetInputSchema()) != `{"type":"object"}` || string(pa.GetOutputSchema()) != `{"type":"object"}` ||
		pa.GetTimeout().AsDuration() != 8*time.Second || !pa.GetIdempotent() || !pa.GetSecure() ||
		len(pa.GetConnections()) != 1 || len(pa.GetMapping()) != 2 || string(pa.GetMapping()[1].GetDefaultJson()) != `"en"` ||
		pa.GetMapping()[0].GetDefaultJson() != nil {
		t.Errorf("toAction: %v", pa)
	}
	if pa := toAction(NewAction("a").Info()); pa.GetTimeout() != nil {
		t.Errorf("no timeout declared, but the wire has %v", pa.GetTimeout())
	}
}

func TestFromInvokeRequest(t *testing.T) {
	t.Parallel()
	r := fromInvokeRequest(&pluginv1.InvokeRequest{
		Action:    "a",
		RequestId: "r-1",
		Metadata: map[string]string{
			pluginv1.MetadataCorrelationID:      "c",
			pluginv1.MetadataOrganizationID:     "o",
			pluginv1.MetadataHomeOrganizationID: "h",
			pluginv1.MetadataUserID:             "u",
			pluginv1.MetadataTraceParent:        "tp",
		},
		Input:        []byte(`{}`),
		InvocationId: 7,
	})
	want := Metadata{CorrelationID: "c", OrganizationID: "o", HomeOrganizationID: "h", UserID: "u", TraceParent: "tp"}
	if r.action != "a" || r.requestID != "r-1" || r.metadata != want || string(r.input) != `{}` || r.invocationID != 7 {
		t.Errorf("fromInvokeRequest: %+v", r)
	}
}

func TestToOutboundRequest(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		path     string
		args     []string
		wantURL  string
		wantTmpl string
	}{
		"template":          {"/users/{id}?expand={what}", []string{"a b", "x&y"}, "/users/a%20b?expand=x%26y", "/users/{id}"},
		"no placeholders":   {"/users/me", nil, "/users/me", ""},
		"query placeholder": {"/search?q={q}", []string{"a"}, "/search?q=a", ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := &Client{Client: http.DefaultClient}
			hr, err := c.NewRequest(context.Background(), http.MethodGet, tc.path, nil, tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			hr.Header.Set("B", "2")
			hr.Header.Set("A", "1")
			out := toOutboundRequest(3, "crm", hr, []byte("body"))
			if out.GetUrl() != tc.wantURL || out.GetPathTemplate() != tc.wantTmpl || out.GetInvocationId() != 3 ||
				out.GetConnection() != "crm" || out.GetMethod() != "GET" || string(out.GetBody()) != "body" {
				t.Errorf("toOutboundRequest: %v", out)
			}
			if len(out.GetHeaders()) != 2 || out.GetHeaders()[0].GetName() != "A" {
				t.Errorf("headers not in order: %v", out.GetHeaders())
			}
		})
	}
}

func TestFromOutboundResponse(t *testing.T) {
	t.Parallel()
	hr, _ := http.NewRequest(http.MethodGet, "/x", nil)
	resp := fromOutboundResponse(&pluginv1.OutboundResponse{
		Status:   404,
		Headers:  []*pluginv1.Header{{Name: "content-type", Values: []string{"text/plain"}}},
		Body:     []byte("gone"),
		Attempts: 2,
	}, hr)
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 404 || resp.Status != "404 Not Found" || resp.Header.Get("Content-Type") != "text/plain" ||
		resp.Header.Get(AttemptsHeader) != "2" || string(body) != "gone" || resp.Request != hr {
		t.Errorf("fromOutboundResponse: %+v", resp)
	}
}

func TestStatus(t *testing.T) {
	t.Parallel()
	expired, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	tests := map[string]struct {
		ctx  context.Context
		err  error
		want *Error
	}{
		"typed error": {
			context.Background(),
			toStatus(&Error{Status: 429, Code: "slow_down", Message: "later", Retryable: true}),
			&Error{Status: 429, Code: "slow_down", Message: "later", Retryable: true},
		},
		"deadline": {
			context.Background(), status.Error(codes.DeadlineExceeded, "late"),
			&Error{Status: 504, Code: "timeout", Message: "the downstream call ran out of time", Retryable: true},
		},
		"context expired": {
			expired, status.Error(codes.Unavailable, "gone"),
			&Error{Status: 504, Code: "timeout", Message: "the downstream call ran out of time", Retryable: true},
		},
		"cancelled": {
			context.Background(), status.Error(codes.Canceled, "bye"),
			&Error{Status: 504, Code: "timeout", Message: "the downstream call was cancelled", Retryable: true},
		},
		"host failure": {
			context.Background(), errors.New("connection reset"),
			&Error{Status: 502, Code: "host_unavailable", Message: "the host's outbound service failed: connection reset", Retryable: true},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got := fromStatus(tc.ctx, tc.err); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("fromStatus = %+v, want %+v", got, tc.want)
			}
		})
	}
}
