// Command switchboard is the Switchboard host: it serves Genesys Cloud data
// actions from plugin binaries. See `switchboard --help`.
package main

import (
	"context"
	"os"

	"github.com/switchboard-dev/switchboard/host/cli"
)

func main() {
	os.Exit(cli.Execute(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
