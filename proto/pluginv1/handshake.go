package pluginv1

import plugin "github.com/hashicorp/go-plugin"

// The plugin protocol versions this package describes. The host offers
// every version it serves during the go-plugin handshake and refuses a
// plugin that speaks none of them; a plugin announces the newest it shares
// with the host. Both use the same services and messages:
//
//   - Version 1 runs each invocation as one Invoke call.
//   - Version 2 runs every invocation of a process on one Session stream,
//     which the host opens after Describe. It saves each call a new HTTP/2
//     stream, its headers and trailers, and the server's goroutine
//     hand-offs. The Go SDK announces it; a plugin written from
//     plugin.proto may start with version 1.
const (
	ProtocolUnary   = 1
	ProtocolSession = 2

	// ProtocolVersion is the newest version, the one Go plugins announce.
	ProtocolVersion = ProtocolSession
)

// ProtocolVersions lists every version the host serves, oldest first.
var ProtocolVersions = []int{ProtocolUnary, ProtocolSession}

// PluginName is the key of the action plugin in go-plugin's plugin set.
const PluginName = "actions"

// Handshake returns the go-plugin handshake shared by the host and every plugin.
//
// The magic cookie is not a secret and not a security measure: it only makes a
// plugin binary that is run by hand say that it must be started by the host,
// instead of waiting silently. Its value was chosen once and never changes.
func Handshake() plugin.HandshakeConfig {
	return plugin.HandshakeConfig{
		ProtocolVersion:  ProtocolVersion,
		MagicCookieKey:   "SWITCHBOARD_PLUGIN",
		MagicCookieValue: "b7f4c2e1-switchboard-action-plugin",
	}
}
