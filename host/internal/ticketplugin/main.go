// Command ticketplugin serves `make bench`'s ticket action (benchwork):
// the work the peer (Benthos) does in process, here in a plugin.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/switchboard-dev/switchboard/host/internal/benchwork"
	"github.com/switchboard-dev/switchboard/sdk"
)

func main() {
	err := sdk.Serve(sdk.NewAction("ticket").
		Input(benchwork.InputSchema).
		Output(benchwork.OutputSchema).
		Handle(func(ctx context.Context, req *sdk.Request) (any, error) {
			var in struct{ CustomerID, Priority, Subject string }
			if err := req.Decode(&in); err != nil {
				return nil, err
			}
			return benchwork.Ticket(in.CustomerID, in.Priority, in.Subject), nil
		}))
	if err != nil {
		fmt.Fprintln(os.Stderr, "ticketplugin:", err)
		os.Exit(1)
	}
}
