// Package sdk is what Switchboard plugin authors import. A plugin is a small
// main package that describes its data actions with NewAction and hands them
// to Serve; the Switchboard host starts it, validates every input and output
// against the schemas the actions declare, and calls the handlers.
//
//	func main() {
//		err := sdk.Serve(
//			sdk.NewAction("echo").
//				Input(`{"type":"object","properties":{"message":{"type":"string"}},"required":["message"]}`).
//				Handle(func(ctx context.Context, req *sdk.Request) (any, error) {
//					return req.Input(), nil
//				}),
//		)
//		if err != nil {
//			fmt.Fprintln(os.Stderr, "echo:", err)
//			os.Exit(1)
//		}
//	}
//
// Package sdktest runs actions in tests as the host runs them: through the
// SDK's gRPC server, with the host's checks, and with downstream
// connections answered by an http.Handler.
//
// The package hides go-plugin and gRPC entirely and stays lean: it imports
// nothing that only the host needs (no JSON Schema compiler, no metrics, no
// OAuth), so plugin binaries start in milliseconds. Downstream calls go through
// the host (Request.HTTP), which holds every credential.
package sdk
