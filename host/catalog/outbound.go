package catalog

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc"

	"go.opentelemetry.io/otel/trace"

	"github.com/switchboard-dev/switchboard/host/apierr"
	"github.com/switchboard-dev/switchboard/host/audit"
	"github.com/switchboard-dev/switchboard/host/outbound"
	"github.com/switchboard-dev/switchboard/proto/pluginv1"
)

// invocation is an action running in a plugin process: what its outbound
// calls may do, and until when.
type invocation struct {
	action     string
	uses       []string
	idempotent bool
	deadline   time.Time
	hasDL      bool
	record     *audit.Record     // the request's audit record, or nil
	span       trace.SpanContext // the invocation's span, parent of the calls'
}

// outboundServer serves one plugin process's Outbound calls. A call is
// accepted only on behalf of an invocation of that process that is still
// running, and only on a connection its action declared.
type outboundServer struct {
	pluginv1.UnimplementedOutboundServer
	plugin      string
	pool        *outbound.Pool
	granted     []string // by the config; set before the plugin serves
	invocations sync.Map // uint64 → *invocation
}

func (s *outboundServer) register(id uint64, inv *invocation) func() {
	s.invocations.Store(id, inv)
	return func() { s.invocations.Delete(id) }
}

func (s *outboundServer) Do(ctx context.Context, req *pluginv1.OutboundRequest) (*pluginv1.OutboundResponse, error) {
	v, ok := s.invocations.Load(req.GetInvocationId())
	if !ok {
		return nil, toError(apierr.New(http.StatusForbidden, "outbound_refused",
			"plugin %q: outbound calls are allowed only while one of its actions runs", s.plugin))
	}
	inv := v.(*invocation)
	if !slices.Contains(inv.uses, req.GetConnection()) {
		return nil, toError(apierr.New(http.StatusForbidden, "outbound_refused",
			"action %q did not declare connection %q (the plugin must call Uses(%q))", inv.action, req.GetConnection(), req.GetConnection()))
	}
	if !slices.Contains(s.granted, req.GetConnection()) {
		return nil, toError(apierr.New(http.StatusForbidden, "outbound_refused",
			"the config does not grant plugin %q connection %q", s.plugin, req.GetConnection()))
	}
	conn, ok := s.pool.Get(req.GetConnection())
	if !ok {
		return nil, toError(apierr.New(http.StatusInternalServerError, "connection_not_configured",
			"the host's config defines no connection %q, which action %q uses", req.GetConnection(), inv.action))
	}
	if inv.hasDL {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, inv.deadline) // never beyond the action's budget
		defer cancel()
	}
	if inv.span.IsValid() {
		ctx = trace.ContextWithSpanContext(ctx, inv.span)
	}
	call := fromOutboundRequest(req)
	call.Idempotent, call.Plugin = inv.idempotent, s.plugin
	start := time.Now()
	resp, err := conn.Do(ctx, call)
	if inv.record != nil {
		inv.record.AddOutbound(summary(conn, req, resp, err, time.Since(start)))
	}
	if err != nil {
		return nil, toError(apierr.From(err))
	}
	return toOutboundResponse(resp), nil
}

// summary is the audit record of one outbound call: where it went, as a
// path template (audit.PathTemplate), and every redirect it followed; never
// the query.
func summary(conn *outbound.Connection, req *pluginv1.OutboundRequest, resp *outbound.Response, err error, took time.Duration) audit.Outbound {
	o := audit.Outbound{Connection: req.GetConnection(), Method: req.GetMethod(), DurationMS: float64(took.Microseconds()) / 1000}
	if t, terr := conn.Resolve(req.GetUrl()); terr == nil {
		o.Host, o.Path = t.URL.Host, auditPath(conn, t, req.GetPathTemplate())
	}
	if resp != nil {
		o.Status, o.Attempts = resp.Status, resp.Attempts
		for _, r := range resp.Redirects {
			o.Redirects = append(o.Redirects, audit.Redirect{Status: r.Status, Host: r.URL.Host, Path: auditPath(conn, r.Target, "")})
		}
	}
	if err != nil {
		o.Code = apierr.From(err).Code
	}
	return o
}

// auditPath keeps base_url's path, which comes from the config, for a
// target under it.
func auditPath(conn *outbound.Connection, t outbound.Target, template string) string {
	keep := ""
	if t.Credential {
		keep = conn.BasePath()
	}
	return audit.PathTemplate(t.URL.EscapedPath(), keep, template)
}

// outboundWorkers is how many goroutines serve a plugin's Outbound calls
// without starting a new one (and growing its stack) per call.
const outboundWorkers = 32

// serve serves Outbound on a broker stream for the life of the process.
func (s *outboundServer) serve(broker interface {
	NextId() uint32
	AcceptAndServe(uint32, func([]grpc.ServerOption) *grpc.Server)
}) uint32 {
	id := broker.NextId()
	go broker.AcceptAndServe(id, func(opts []grpc.ServerOption) *grpc.Server {
		srv := grpc.NewServer(append(opts,
			grpc.MaxRecvMsgSize(pluginv1.MaxMessageSize),
			grpc.MaxSendMsgSize(pluginv1.MaxMessageSize),
			grpc.NumStreamWorkers(outboundWorkers),
			grpc.InitialWindowSize(pluginv1.WindowSize),
			grpc.InitialConnWindowSize(pluginv1.WindowSize),
		)...)
		pluginv1.RegisterOutboundServer(srv, s)
		return srv
	})
	return id
}

var _ pluginv1.OutboundServer = (*outboundServer)(nil)
