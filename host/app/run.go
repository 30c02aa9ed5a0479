package app

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/oklog/run"
)

// Run serves the host until a SIGINT or SIGTERM, or until ctx is done. It is
// one group of actors (oklog/run), where the first to stop stops the rest:
//
//   - the signal handler, registered first, so that a signal during a slow
//     start is not lost;
//   - the HTTP servers, listening and serving before the plugins load
//     (GET /readyz answers 503 "loading the plugins" meanwhile);
//   - the plugin supervisor, which loads the plugins and keeps them running;
//   - the embedded Genesys Cloud simulator, in development mode;
//   - SIGHUP: the audit log reopened, the config reloaded;
//   - with Options.WatchConfig, a reload whenever the config's files change.
//
// On the way out /readyz answers 503 at once, the host serves on for
// shutdown_delay so that load balancers withdraw it, the HTTP servers
// finish the requests in flight within one shared shutdown_timeout, and
// only then do the plugins stop. A signal ends
// Run without an error.
func (h *Host) Run(ctx context.Context) error {
	servers, err := h.listen()
	if err != nil {
		return err
	}
	var g run.Group
	g.Add(run.SignalHandler(ctx, os.Interrupt, syscall.SIGTERM))

	drained := make(chan struct{}) // closed when the HTTP servers have stopped
	g.Add(func() error { return servers.serve() }, func(error) {
		h.draining.Store(true) // /readyz answers 503 from now on
		if d := h.Config.ShutdownDelay; d > 0 {
			h.Logger.Info("shutting down: still serving while load balancers withdraw this host", "shutdown_delay", d)
			time.Sleep(d)
		}
		servers.shutdown(h)
		close(drained)
	})

	pluginsCtx, stopPlugins := context.WithCancel(context.Background())
	g.Add(func() error { return h.Plugins.Run(pluginsCtx) }, func(error) {
		<-drained // no request is left that a plugin could be serving
		stopPlugins()
	})
	go func() { // what the host serves, once the plugins are loaded
		select {
		case <-h.Plugins.Loaded():
			h.logActions()
		case <-h.Plugins.Done():
		}
	}()

	if h.DevGenesys != nil {
		simCtx, stopSim := context.WithCancel(context.Background())
		g.Add(func() error { return h.DevGenesys.Run(simCtx) }, func(error) { stopSim() })
	}
	if h.Audit != nil || h.opts.ReadConfig != nil {
		hup := make(chan os.Signal, 1)
		done := make(chan struct{})
		g.Add(func() error {
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			for {
				select {
				case <-hup:
					h.hangup(ctx)
				case <-done:
					return nil
				}
			}
		}, func(error) { close(done) })
	}

	if h.shared != nil { // this replica's presence, which sizes the rate limits' local shares
		sharedCtx, stopShared := context.WithCancel(context.Background())
		g.Add(func() error { h.shared.Run(sharedCtx); return nil }, func(error) { stopShared() })
	}
	if every := h.opts.WatchConfig; every > 0 && h.opts.ReadConfig != nil {
		watchCtx, stopWatch := context.WithCancel(ctx)
		g.Add(func() error { h.watchConfig(watchCtx, every); return nil }, func(error) { stopWatch() })
	}

	err = g.Run()
	h.Logger.Info("stopped", "reason", fmt.Sprint(err))
	h.Close()
	if errors.Is(err, run.ErrSignal) || errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// httpServers are the host's listeners and their servers.
type httpServers struct {
	servers   []*http.Server
	listeners []net.Listener
}

// listen binds every address first, so that a port in use is an error
// before anything starts.
func (h *Host) listen() (*httpServers, error) {
	api, admin, metricsSrv := h.HTTPServers()
	s := &httpServers{}
	for _, srv := range []*http.Server{api, admin, metricsSrv} {
		if srv == nil {
			continue
		}
		ln, err := net.Listen("tcp", srv.Addr)
		if err != nil {
			for _, l := range s.listeners {
				l.Close()
			}
			return nil, fmt.Errorf("listen: %w", err)
		}
		srv.Addr = ln.Addr().String()
		if srv.TLSConfig != nil {
			ln = tls.NewListener(ln, srv.TLSConfig)
		}
		s.servers, s.listeners = append(s.servers, srv), append(s.listeners, ln)
	}
	h.Logger.Info("listening", "addr", api.Addr, "plugin_dir", h.Config.PluginDir)
	if admin != nil {
		h.Logger.Info("admin API listening (no inbound auth: keep this address private)", "addr", admin.Addr)
	}
	if metricsSrv != nil {
		h.Logger.Info("metrics listening (no inbound auth: keep this address private)", "addr", metricsSrv.Addr)
	}
	return s, nil
}

// serve serves every listener until they are shut down; the first failure
// ends it.
func (s *httpServers) serve() error {
	errs := make(chan error, len(s.servers))
	for i, srv := range s.servers {
		go func() {
			if err := srv.Serve(s.listeners[i]); !errors.Is(err, http.ErrServerClosed) {
				errs <- err
				return
			}
			errs <- nil
		}()
	}
	var first error
	for range s.servers {
		if err := <-errs; err != nil && first == nil {
			first = err
			go s.closeAll() // one failed: the others stop too
		}
	}
	return first
}

func (s *httpServers) closeAll() {
	for _, srv := range s.servers {
		srv.Close()
	}
}

// shutdown lets every server finish its requests in flight, all within one
// shutdown_timeout.
func (s *httpServers) shutdown(h *Host) {
	ctx, cancel := context.WithTimeout(context.Background(), h.Config.ShutdownTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for _, srv := range s.servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.Shutdown(ctx); err != nil {
				h.Logger.Warn("requests still in flight at the shutdown timeout were cut", "addr", srv.Addr, "error", err)
			}
		}()
	}
	wg.Wait()
}

// watchConfig reloads whenever the config's files change, until ctx is
// done. A change that is refused is not tried again until the files change
// again.
func (h *Host) watchConfig(ctx context.Context, every time.Duration) {
	files := func() string { return fingerprint(h.current.Load().cfg.Files()) }
	last := files()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if now := files(); now != last {
				h.Logger.Info("config files changed: reloading")
				h.Reload(ctx, false)
				last = files()
			}
		case <-ctx.Done():
			return
		}
	}
}

// fingerprint is a digest of the files' contents (an unreadable file
// counts as its error).
func fingerprint(paths []string) string {
	sum := sha256.New()
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			b = []byte(err.Error())
		}
		fmt.Fprintf(sum, "%q %d\n", p, len(b))
		sum.Write(b)
	}
	return hex.EncodeToString(sum.Sum(nil))
}

// hangup is SIGHUP: the audit log is reopened (logrotate), and the config
// file is reloaded (Reload logs how it went).
func (h *Host) hangup(ctx context.Context) {
	if h.Audit != nil {
		if err := h.Audit.Reopen(); err != nil {
			h.Logger.Error("reopening the audit log", "error", err)
		} else {
			h.Logger.Info("audit log reopened")
		}
	}
	if h.opts.ReadConfig != nil {
		h.Reload(ctx, false)
	}
}
