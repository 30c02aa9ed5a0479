// Command crashplugin serves one action and exits 300 ms after it starts,
// every time: a crash-looping plugin for the host's supervision tests.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/switchboard-dev/switchboard/sdk"
)

func main() {
	go func() {
		time.Sleep(300 * time.Millisecond)
		os.Exit(2)
	}()
	if err := sdk.Serve(sdk.NewAction("crashy").Handle(func(ctx context.Context, req *sdk.Request) (any, error) {
		return nil, nil
	})); err != nil {
		fmt.Fprintln(os.Stderr, "crashplugin:", err)
		os.Exit(1)
	}
}
