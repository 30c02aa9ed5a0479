// Package registry holds the actions the host serves: each action with its
// compiled schemas, mapping and plugin, gathered in an immutable Snapshot
// that the request path reads without locks and the plugin catalog replaces
// whole, atomically.
package registry
