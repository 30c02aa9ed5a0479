// Command dupplugin is a plugin written without the SDK (which refuses
// this) that declares one action twice, for the host's tests: the host must
// refuse it alone.
package main

import (
	"context"

	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/switchboard-dev/switchboard/proto/pluginv1"
)

type server struct {
	pluginv1.UnimplementedActionPluginServer
}

func (server) Describe(context.Context, *pluginv1.DescribeRequest) (*pluginv1.DescribeResponse, error) {
	return &pluginv1.DescribeResponse{Actions: []*pluginv1.Action{{Name: "twice"}, {Name: "twice"}}}, nil
}

type grpcPlugin struct{ plugin.NetRPCUnsupportedPlugin }

func (grpcPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pluginv1.RegisterActionPluginServer(s, server{})
	return nil
}

func (grpcPlugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, nil
}

func main() {
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  pluginv1.Handshake(),
		VersionedPlugins: map[int]plugin.PluginSet{pluginv1.ProtocolVersion: {pluginv1.PluginName: grpcPlugin{}}},
		GRPCServer:       plugin.DefaultGRPCServer,
	})
}
