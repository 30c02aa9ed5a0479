package pluginv1

import plugin "github.com/hashicorp/go-plugin"

// ProtocolVersion is the plugin protocol this package describes. The host
// offers every version it supports during the go-plugin handshake and refuses
// a plugin that speaks none of them; a plugin announces the one it was built
// for. It changes only when a change to plugin.proto breaks existing plugins.
const ProtocolVersion = 1

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
