// Command switchboard is the Switchboard host: it serves Genesys Cloud data
// actions from plugin binaries. See `switchboard --help`.
package main

import (
	"context"
	"os"

	"github.com/switchboard-dev/switchboard/host/cli"
	"github.com/switchboard-dev/switchboard/host/sandbox"
)

func main() {
	// Run as switchboard-sandbox, it is the plugin sandbox launcher, for
	// machines where that lean binary is not installed beside it.
	if sandbox.IsLauncher() {
		sandbox.Launch()
	}
	os.Exit(cli.Execute(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
