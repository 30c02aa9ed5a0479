// Command brokenplugin is a plugin with one deliberate fault, chosen at
// link time (-X main.variant=...), for `switchboard plugin check`'s tests:
//
//	contract   an input schema Genesys Cloud refuses (a nested object)
//	deadline   a handler that ignores its deadline
//	errors     failures as plain gRPC statuses, without the typed Error detail
//	handshake  a plugin protocol version the host does not speak
//	nohealth   the go-plugin handshake by hand, without the health service
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/switchboard-dev/switchboard/proto/pluginv1"
	"github.com/switchboard-dev/switchboard/sdk"
)

var variant = "contract"

const echoSchema = `{"type":"object","properties":{"message":{"type":"string"}},"required":["message"]}`

func main() {
	var err error
	switch variant {
	case "contract":
		err = sdk.Serve(sdk.NewAction("nested").
			Input(`{"type":"object","properties":{"address":{"type":"object","properties":{"city":{"type":"string"}}}}}`).
			Handle(func(ctx context.Context, req *sdk.Request) (any, error) { return req.Input(), nil }))
	case "deadline", "errors", "handshake":
		version := pluginv1.ProtocolUnary // a hand-written plugin: one Invoke per call, no Session
		if variant == "handshake" {
			version = 7
		}
		hs := pluginv1.Handshake()
		hs.ProtocolVersion = uint(version)
		plugin.Serve(&plugin.ServeConfig{
			HandshakeConfig:  hs,
			VersionedPlugins: map[int]plugin.PluginSet{version: {pluginv1.PluginName: rawPlugin{}}},
			GRPCServer:       plugin.DefaultGRPCServer,
		})
	case "nohealth":
		err = handRolled()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "brokenplugin:", err)
		os.Exit(1)
	}
}

// rawServer answers Describe and Invoke without the SDK. Variant errors
// fails with plain statuses; variant deadline sleeps through its deadline.
type rawServer struct {
	pluginv1.UnimplementedActionPluginServer
}

func (rawServer) Describe(context.Context, *pluginv1.DescribeRequest) (*pluginv1.DescribeResponse, error) {
	return &pluginv1.DescribeResponse{Version: "broken", Actions: []*pluginv1.Action{{Name: "rawEcho", InputSchema: []byte(echoSchema), Timeout: durationpb.New(time.Second)}}}, nil
}

func (rawServer) Invoke(_ context.Context, req *pluginv1.InvokeRequest) (*pluginv1.InvokeResponse, error) {
	switch {
	case req.GetAction() != "rawEcho" && variant == "errors":
		return nil, status.Errorf(codes.NotFound, "no action %q", req.GetAction())
	case req.GetAction() != "rawEcho":
		return nil, pluginv1.ErrorStatus(&pluginv1.Error{Code: "action_not_found", Message: "no such action", HttpStatus: 404})
	case variant == "deadline":
		time.Sleep(10 * time.Second) // the call's context is never looked at
	}
	return &pluginv1.InvokeResponse{Output: req.GetInput()}, nil
}

type rawPlugin struct{ plugin.NetRPCUnsupportedPlugin }

func (rawPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pluginv1.RegisterActionPluginServer(s, rawServer{})
	return nil
}

func (rawPlugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, nil
}

// handRolled does go-plugin's handshake itself, as a plugin in another
// language would, but serves only the action service: no health, no
// controller, no broker.
func handRolled() error {
	if os.Getenv("SWITCHBOARD_PLUGIN") != pluginv1.Handshake().MagicCookieValue {
		return fmt.Errorf("not started by a host")
	}
	// AutoMTLS: the host's certificate arrives in PLUGIN_CLIENT_CERT; ours
	// goes back, DER in unpadded base64, in the handshake line.
	hostCerts := x509.NewCertPool()
	if !hostCerts.AppendCertsFromPEM([]byte(os.Getenv("PLUGIN_CLIENT_CERT"))) {
		return fmt.Errorf("no PLUGIN_CLIENT_CERT")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost", Organization: []string{"HashiCorp"}},
		DNSNames: []string{"localhost"}, NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}, IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	cert, err := tls.X509KeyPair(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
	if err != nil {
		return err
	}
	sock := filepath.Join(os.Getenv("PLUGIN_UNIX_SOCKET_DIR"), "brokenplugin.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		return err
	}
	creds := credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: hostCerts, MinVersion: tls.VersionTLS12})
	s := grpc.NewServer(grpc.Creds(creds))
	pluginv1.RegisterActionPluginServer(s, rawServer{})
	fmt.Printf("1|%d|unix|%s|grpc|%s\n", pluginv1.ProtocolUnary, sock, base64.RawStdEncoding.EncodeToString(der))
	return s.Serve(ln)
}
