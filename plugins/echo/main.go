// Command echo is the simplest Switchboard plugin: its action "echo" returns
// its input unchanged. Use it to check a deployment end to end, from a Genesys
// Cloud flow to the host and back.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/switchboard-dev/switchboard/sdk"
)

func main() {
	if err := sdk.Serve(
		sdk.NewAction("echo").
			Description("Returns its input unchanged").
			Version("1.0.0").
			Input(`{
				"type": "object",
				"properties": {"message": {"type": "string", "description": "Any text"}},
				"required": ["message"],
				"additionalProperties": true
			}`).
			Output(`{
				"type": "object",
				"properties": {"message": {"type": "string"}},
				"required": ["message"],
				"additionalProperties": true
			}`).
			Handle(func(ctx context.Context, req *sdk.Request) (any, error) {
				return req.Input(), nil
			}),
	); err != nil {
		fmt.Fprintln(os.Stderr, "echo:", err)
		os.Exit(1)
	}
}
