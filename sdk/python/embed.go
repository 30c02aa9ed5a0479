// Package python holds the Python SDK (switchboard/), embedded so that
// `switchboard plugin new --lang python` can vendor it into a new plugin.
package python

import "embed"

// SDK is the switchboard package's files, under "switchboard/".
//
//go:embed switchboard/*.py switchboard/_pb/*.py
var SDK embed.FS
