// Package pluginv1 is the Switchboard plugin wire contract, protocol version 1:
// the gRPC services and messages between the host and a plugin process.
//
// The *.pb.go files are generated from plugin.proto by `make proto`: DO NOT EDIT
// them. handshake.go, the only hand-written file, holds the go-plugin
// handshake. Plugin authors never import this package; the SDK does.
package pluginv1
