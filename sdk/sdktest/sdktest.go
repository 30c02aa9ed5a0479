// Package sdktest helps plugin authors test their actions: run one in
// process with its downstream connections answered by an http.Handler, or
// start the built plugin binary and call it as the host does.
//
// It belongs with the SDK: it imports nothing of the host.
package sdktest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	"github.com/switchboard-dev/switchboard/proto/pluginv1"
	"github.com/switchboard-dev/switchboard/sdk"
)

// Connection answers the action's calls on the named connection with h, as
// if the host had sent them to the connection's base URL. Use it with
// Action.Invoke:
//
//	out, err := action.Invoke(ctx, input, sdktest.Connection("genesys", handler))
func Connection(name string, h http.Handler) sdk.InvokeOption {
	return sdk.WithConnection(name, handlerTransport{h})
}

type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	w := httptest.NewRecorder()
	t.h.ServeHTTP(w, r)
	resp := w.Result()
	resp.Request = r
	return resp, nil
}

// Plugin is a built plugin binary started as the host starts it.
type Plugin struct {
	client  *plugin.Client
	rpc     pluginv1.ActionPluginClient
	Actions []*pluginv1.Action
}

// Start starts the plugin binary at path, performs the handshake and asks
// it to describe its actions; the test's cleanup stops it. The plugin gets
// no Outbound service: its actions' downstream calls fail.
func Start(t testing.TB, path string) *Plugin {
	t.Helper()
	cmd := exec.Command(path)
	cmd.Env = []string{"TMPDIR=" + t.TempDir()}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  pluginv1.Handshake(),
		VersionedPlugins: map[int]plugin.PluginSet{pluginv1.ProtocolVersion: {pluginv1.PluginName: grpcClient{}}},
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		SkipHostEnv:      true,
		StartTimeout:     10 * time.Second,
		Logger:           hclog.NewNullLogger(),
	})
	t.Cleanup(client.Kill)
	proto, err := client.Client()
	if err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	raw, err := proto.Dispense(pluginv1.PluginName)
	if err != nil {
		t.Fatalf("handshake with %s: %v", path, err)
	}
	p := &Plugin{client: client, rpc: raw.(pluginv1.ActionPluginClient)}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := p.rpc.Describe(ctx, &pluginv1.DescribeRequest{})
	if err != nil {
		t.Fatalf("describing %s: %v", path, err)
	}
	p.Actions = d.GetActions()
	return p
}

// Invoke runs one action in the plugin process. A failure is an *sdk.Error
// when the plugin chose the answer.
func (p *Plugin) Invoke(ctx context.Context, action string, input json.RawMessage) (json.RawMessage, error) {
	resp, err := p.rpc.Invoke(ctx, &pluginv1.InvokeRequest{Action: action, RequestId: "sdktest", Input: input, InvocationId: 1})
	if err != nil {
		for _, d := range status.Convert(err).Details() {
			if e, ok := d.(*pluginv1.Error); ok {
				return nil, &sdk.Error{Status: int(e.GetHttpStatus()), Code: e.GetCode(), Message: e.GetMessage(), Retryable: e.GetRetryable()}
			}
		}
		return nil, fmt.Errorf("invoking %q: %w", action, err)
	}
	return resp.GetOutput(), nil
}

// grpcClient is the host side of go-plugin's plugin interface.
type grpcClient struct{ plugin.NetRPCUnsupportedPlugin }

func (grpcClient) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error {
	return errors.New("sdktest: not a plugin")
}

func (grpcClient) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return pluginv1.NewActionPluginClient(c), nil
}
