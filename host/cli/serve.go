package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"syscall"

	"github.com/oklog/run"
	"github.com/spf13/cobra"

	"github.com/switchboard-dev/switchboard/host/app"
)

func serveCommand() *cobra.Command {
	var (
		cf     configFlags
		listen string
		dev    bool
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the plugins' actions over HTTP",
		Long: `Serve starts every plugin in the plugins directory and serves their actions
on POST /actions/{name} (and the envelope route POST /webhook/data-action).
It refuses to start without inbound authentication unless --dev is given.
SIGTERM or SIGINT finishes the requests in flight, stops the plugins and exits.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := cf.load()
			if err != nil {
				return err
			}
			if listen != "" {
				cfg.Listen = listen
			}
			if err := app.CheckInbound(cfg, dev); err != nil {
				return err
			}
			logger := app.NewLogger(cfg)
			if dev {
				if !cfg.Inbound.Enabled() {
					logger.Warn("development mode: serving WITHOUT inbound authentication")
				}
				stop, simURL, err := app.StartDevGenesys(cfg)
				if err != nil {
					return err
				}
				defer stop()
				if simURL != "" {
					logger.Warn("development mode: connection genesys calls the embedded Genesys Cloud simulator", "url", simURL)
				}
			}
			host, err := app.New(cfg, logger)
			if err != nil {
				return err
			}
			defer host.Close()

			ln, err := net.Listen("tcp", cfg.Listen)
			if err != nil {
				return fmt.Errorf("listen: %w", err)
			}
			if _, err := host.Load(cmd.Context()); err != nil {
				ln.Close()
				return err
			}
			srv := host.HTTPServer()
			logger.Info("listening", "addr", ln.Addr().String(), "plugin_dir", cfg.PluginDir)

			var g run.Group
			g.Add(func() error {
				if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
					return err
				}
				return nil
			}, func(error) {
				ctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
				defer cancel()
				logger.Info("shutting down: finishing requests in flight", "timeout", cfg.ShutdownTimeout)
				if err := srv.Shutdown(ctx); err != nil {
					logger.Warn("requests still in flight at the shutdown timeout were cut", "error", err)
				}
			})
			g.Add(run.SignalHandler(cmd.Context(), os.Interrupt, syscall.SIGTERM))
			err = g.Run()
			if errors.Is(err, run.ErrSignal) {
				logger.Info("stopped", "reason", err.Error())
				return nil
			}
			return err
		},
	}
	cf.register(cmd)
	cmd.Flags().StringVar(&listen, "listen", "", "address to listen on (overrides listen; default :8080)")
	cmd.Flags().BoolVar(&dev, "dev", false, "development mode: allow serving without inbound authentication")
	return cmd
}
