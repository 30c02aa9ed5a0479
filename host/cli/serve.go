package cli

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/switchboard-dev/switchboard/host/app"
	"github.com/switchboard-dev/switchboard/host/catalog"
	"github.com/switchboard-dev/switchboard/host/config"
)

func serveCommand() *cobra.Command {
	var (
		cf     configFlags
		listen string
		dev    bool
		watch  time.Duration
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the plugins' actions over HTTP",
		Long: `Serve starts every plugin in the plugins directory and serves their actions
on POST /actions/{name} (and the envelope route POST /webhook/data-action).
It refuses to start without inbound authentication unless --dev is given.
SIGTERM or SIGINT finishes the requests in flight, stops the plugins and exits.
SIGHUP reopens the audit log and reloads the config file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			read := func() (*config.Config, error) {
				cfg, err := cf.load()
				if err == nil && listen != "" {
					cfg.Listen = listen
				}
				return cfg, err
			}
			cfg, err := read()
			if err != nil {
				return err
			}
			if err := app.CheckInbound(cfg, dev); err != nil {
				return err
			}
			logger, redactor := app.NewLogger(cfg)
			app.TuneGC(logger)
			if dev && !cfg.Inbound.Enabled() {
				logger.Warn("development mode: serving WITHOUT inbound authentication")
			}
			opts := app.Options{Supervision: catalog.Supervision{Watch: true}, Dev: dev, Redactor: redactor}
			if cf.file != "" {
				opts.ReadConfig, opts.ConfigFile, opts.WatchConfig = read, cf.file, watch
			}
			host, err := newHost(cfg, logger, opts)
			if err != nil {
				return err
			}
			return host.Run(cmd.Context())
		},
	}
	cf.register(cmd)
	cmd.Flags().StringVar(&listen, "listen", "", "address to listen on (overrides listen; default :8080)")
	cmd.Flags().BoolVar(&dev, "dev", false, "development mode: allow serving without inbound authentication")
	cmd.Flags().DurationVar(&watch, "watch-config", 0, "look at the config file and the files it reads this often, and reload when one changed (0: only on SIGHUP or POST /admin/config/reload)")
	return cmd
}
