package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchboard-dev/switchboard/host/genesys/sim"
)

func simCommand() *cobra.Command {
	sim := &cobra.Command{
		Use:   "sim",
		Short: "Run simulators of the services Switchboard talks to",
	}
	sim.AddCommand(simGenesysCommand())
	return sim
}

func simGenesysCommand() *cobra.Command {
	var listen string
	cmd := &cobra.Command{
		Use:   "genesys",
		Short: "Simulate Genesys Cloud's token endpoint and users API, with fault injection",
		Long: `Serves POST /oauth/token (client credentials) and GET /api/v2/users/{id} like
Genesys Cloud, over plain HTTP, with an admin API under /sim/ to inject faults
(429 with Retry-After, 5xx, latency), revoke tokens and read counters. The README
documents the admin API.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s := sim.New(sim.Options{})
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return fmt.Errorf("listen: %w", err)
			}
			base := "http://" + ln.Addr().String()
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Genesys Cloud simulator on %s\n", base)
			fmt.Fprintf(out, "  token URL:     %s/oauth/token\n  client id:     %s\n  client secret: %s\n", base, s.ClientID(), s.ClientSecret())
			fmt.Fprintf(out, "  users:         %s, %s, %s, %s\n", sim.AgentUserID, sim.SupervisorUserID, sim.AdminUserID, sim.InactiveUserID)
			fmt.Fprintf(out, "  admin:         %s/sim/stats, %s/sim/faults\n", base, base)
			srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			go func() {
				<-ctx.Done()
				shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				srv.Shutdown(shutdown)
			}()
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8089", "address to listen on")
	return cmd
}
