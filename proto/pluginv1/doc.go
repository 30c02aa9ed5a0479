// Package pluginv1 is the Switchboard plugin wire contract, protocol version 1:
// the gRPC services and messages between the host and a plugin process.
//
// The *.pb.go files are generated from plugin.proto by `make proto`: DO NOT EDIT
// them. Two files are hand-written: handshake.go, the go-plugin handshake, and
// shared.go, what the host and Go plugins share beyond the messages (limits,
// metadata keys, the typed error on the wire). Plugin authors never import
// this package; the SDK does.
package pluginv1
