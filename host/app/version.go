package app

import "runtime/debug"

// BuildVersion is the host's version; the Makefile sets it at link time.
var BuildVersion = ""

// Version returns BuildVersion, else the module version recorded by the Go
// toolchain, else "(devel)".
func Version() string {
	if BuildVersion != "" {
		return BuildVersion
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}
