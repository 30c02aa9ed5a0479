package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/hashicorp/go-hclog"
	"github.com/oklog/run"
	"github.com/spf13/cobra"

	"github.com/switchboard-dev/switchboard/host/app"
	"github.com/switchboard-dev/switchboard/host/audit"
	"github.com/switchboard-dev/switchboard/host/catalog"
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
			host, err := newHost(cfg, logger, app.Options{Supervision: catalog.Supervision{Watch: true}, Dev: dev})
			if err != nil {
				return err
			}
			defer host.Close()

			api, admin, metricsSrv := host.HTTPServers()
			var g run.Group
			for _, srv := range []*http.Server{api, admin, metricsSrv} {
				if srv == nil {
					continue
				}
				ln, err := net.Listen("tcp", srv.Addr)
				if err != nil {
					return fmt.Errorf("listen: %w", err)
				}
				defer ln.Close()
				srv.Addr = ln.Addr().String()
				if srv.TLSConfig != nil {
					ln = tls.NewListener(ln, srv.TLSConfig)
				}
				g.Add(func() error {
					if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
						return err
					}
					return nil
				}, func(error) {
					ctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
					defer cancel()
					if err := srv.Shutdown(ctx); err != nil {
						logger.Warn("requests still in flight at the shutdown timeout were cut", "addr", srv.Addr, "error", err)
					}
				})
			}
			if _, err := host.Load(cmd.Context()); err != nil {
				return err
			}
			logger.Info("listening", "addr", api.Addr, "plugin_dir", cfg.PluginDir)
			if admin != nil {
				logger.Info("admin API listening (no inbound auth: keep this address private)", "addr", admin.Addr)
			}
			if metricsSrv != nil {
				logger.Info("metrics listening (no inbound auth: keep this address private)", "addr", metricsSrv.Addr)
			}
			if host.Audit != nil {
				g.Add(reopenOnSIGHUP(host.Audit, logger))
			}
			g.Add(run.SignalHandler(cmd.Context(), os.Interrupt, syscall.SIGTERM))
			err = g.Run()
			logger.Info("stopping the plugins")
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

// reopenOnSIGHUP is a run group actor that reopens the audit log on SIGHUP,
// after logrotate has moved it.
func reopenOnSIGHUP(log *audit.Log, logger hclog.Logger) (func() error, func(error)) {
	hup := make(chan os.Signal, 1)
	done := make(chan struct{})
	return func() error {
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			for {
				select {
				case <-hup:
					if err := log.Reopen(); err != nil {
						logger.Error("reopening the audit log", "error", err)
					} else {
						logger.Info("audit log reopened")
					}
				case <-done:
					return nil
				}
			}
		}, func(error) {
			close(done)
		}
}
