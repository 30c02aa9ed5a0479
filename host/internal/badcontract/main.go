// Command badcontract serves an action whose input contract breaks a
// Genesys Cloud rule (a nested object), for the host's contract tests.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/switchboard-dev/switchboard/sdk"
)

func main() {
	if err := sdk.Serve(sdk.NewAction("nested").
		Input(`{"type":"object","properties":{"address":{"type":"object","properties":{"city":{"type":"string"}}}}}`).
		Handle(func(ctx context.Context, req *sdk.Request) (any, error) { return req.Input(), nil })); err != nil {
		fmt.Fprintln(os.Stderr, "badcontract:", err)
		os.Exit(1)
	}
}
