package sdk

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"

	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/switchboard-dev/switchboard/proto/pluginv1"
)

// AttemptsHeader is set on every response Request.HTTP returns: how many
// requests the host sent downstream for it (retries included).
const AttemptsHeader = "X-Switchboard-Attempts"

// HTTP returns a client whose requests go through the Switchboard host on
// the named connection (declared with Action.Uses, and granted to the plugin
// by the host's config). The host adds the connection's credential, applies
// its retry and circuit policies, and refuses hosts outside the connection.
// URLs may be paths relative to the connection's base URL, and path
// templates:
//
//	resp, err := req.HTTP("genesys").Get("/api/v2/users/{userId}", in.UserID)
//
// Requests made without a context deadline get the action's deadline. The
// client does not follow redirects itself; the host follows those it allows.
// A refusal or a downstream failure is an *Error a handler can return as it
// is (errors.As finds it inside the client's *url.Error).
func (r *Request) HTTP(connection string) *Client {
	return &Client{Client: &http.Client{
		Transport:     &hostTransport{req: r, connection: connection},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// Client is an *http.Client on one of the host's connections whose Get,
// Post and NewRequest also take path templates: each {name} in the path is
// replaced by the next argument, escaped (url.PathEscape; url.QueryEscape
// after a '?'), and the host's audit log records the template, not the
// values. Give the template as a constant: the audit log writes its
// literal parts as they are. A path without placeholders is sent as it is
// (its values are then left out of the audit log instead).
type Client struct {
	*http.Client
}

// Get sends a GET to the path template filled with args.
func (c *Client) Get(path string, args ...string) (*http.Response, error) {
	req, err := c.NewRequest(context.Background(), http.MethodGet, path, nil, args...)
	if err != nil {
		return nil, err
	}
	return c.Do(req)
}

// Post sends a POST with the body to the path template filled with args.
func (c *Client) Post(path, contentType string, body io.Reader, args ...string) (*http.Response, error) {
	req, err := c.NewRequest(context.Background(), http.MethodPost, path, body, args...)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", contentType)
	return c.Do(req)
}

// NewRequest builds a request to the path template filled with args, for
// Do. A context without a deadline gets the action's.
func (c *Client) NewRequest(ctx context.Context, method, path string, body io.Reader, args ...string) (*http.Request, error) {
	target, tmpl, err := expand(path, args)
	if err != nil {
		return nil, err
	}
	if tmpl != "" {
		ctx = context.WithValue(ctx, templateKey{}, tmpl)
	}
	return http.NewRequestWithContext(ctx, method, target, body)
}

type templateKey struct{}

// expand fills a template's placeholders with args. It returns the URL and
// the template of its path, "" when the path has no placeholder.
func expand(tmpl string, args []string) (string, string, error) {
	path, query, hasQuery := strings.Cut(tmpl, "?")
	var b strings.Builder
	n := 0
	fill := func(s string, escape func(string) string) error {
		for {
			i := strings.IndexByte(s, '{')
			if i < 0 {
				b.WriteString(s)
				return nil
			}
			j := strings.IndexByte(s[i:], '}')
			if j < 0 {
				return fmt.Errorf("path template %q: a '{' is not closed", tmpl)
			}
			if n == len(args) {
				return fmt.Errorf("path template %q has more placeholders than the %d arguments", tmpl, len(args))
			}
			b.WriteString(s[:i])
			b.WriteString(escape(args[n]))
			n++
			s = s[i+j+1:]
		}
	}
	if err := fill(path, url.PathEscape); err != nil {
		return "", "", err
	}
	pathPlaceholders := n
	if hasQuery {
		b.WriteByte('?')
		if err := fill(query, url.QueryEscape); err != nil {
			return "", "", err
		}
	}
	if n != len(args) {
		return "", "", fmt.Errorf("path template %q has %d placeholders for %d arguments", tmpl, n, len(args))
	}
	if pathPlaceholders == 0 {
		return b.String(), "", nil
	}
	return b.String(), path, nil
}

// hostConn is the plugin's one connection back to the host's Outbound
// service, set up when the host describes the plugin and reused by every
// request.
type hostConn struct {
	client atomic.Pointer[pluginv1.OutboundClient]
}

func (h *hostConn) connect(broker *plugin.GRPCBroker, id uint32) error {
	conn, err := broker.DialWithOptions(id,
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(pluginv1.MaxMessageSize), grpc.MaxCallSendMsgSize(pluginv1.MaxMessageSize)),
		grpc.WithInitialWindowSize(pluginv1.WindowSize),
		grpc.WithInitialConnWindowSize(pluginv1.WindowSize),
	)
	if err != nil {
		return fmt.Errorf("connecting to the host's outbound service: %w", err)
	}
	c := pluginv1.NewOutboundClient(conn)
	h.client.Store(&c)
	return nil
}

func (h *hostConn) get() pluginv1.OutboundClient {
	if h == nil {
		return nil
	}
	if c := h.client.Load(); c != nil {
		return *c
	}
	return nil
}

// hostTransport sends one request to the host as an Outbound call.
type hostTransport struct {
	req        *Request
	connection string
}

func (t *hostTransport) RoundTrip(hr *http.Request) (*http.Response, error) {
	client := t.req.host.get()
	if client == nil {
		if hr.Body != nil {
			hr.Body.Close()
		}
		return nil, Errorf(500, "no_host", "the host serves this plugin no outbound service: connection %q is unavailable", t.connection)
	}
	var body []byte
	if hr.Body != nil {
		b, err := io.ReadAll(hr.Body)
		hr.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("reading the request body: %w", err)
		}
		body = b
	}
	ctx := hr.Context()
	if _, ok := ctx.Deadline(); !ok && t.req.ctx != nil {
		ctx = t.req.ctx // the action's deadline travels with every call
	}
	resp, err := client.Do(ctx, toOutboundRequest(t.req.invocationID, t.connection, hr, body))
	if err != nil {
		return nil, fromStatus(ctx, err)
	}
	return fromOutboundResponse(resp, hr), nil
}

var _ http.RoundTripper = (*hostTransport)(nil)
