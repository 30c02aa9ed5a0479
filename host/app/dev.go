package app

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/switchboard-dev/switchboard/host/config"
	"github.com/switchboard-dev/switchboard/host/genesys/sim"
)

// DevGenesys is the Genesys Cloud simulator of development mode, on a
// loopback port.
type DevGenesys struct {
	URL string
	sim *sim.Server
	srv *http.Server
	ln  net.Listener
}

// NewDevGenesys points the config's "genesys" connection at an embedded
// Genesys Cloud simulator, when the connection has no credential (--dev),
// and returns the simulator, listening but not yet serving (Run). It
// returns nil when the config's own connection is used.
func NewDevGenesys(cfg *config.Config) (*DevGenesys, error) {
	if c, ok := cfg.Connections["genesys"]; ok && c.HasCredential() {
		return nil, nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := sim.New(sim.Options{})
	d := &DevGenesys{URL: "http://" + ln.Addr().String(), sim: s, ln: ln, srv: &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}}
	d.point(cfg)
	return d, nil
}

// point makes the config's genesys connection call the simulator, unless
// the connection has its own credential (a reloaded config is pointed too).
func (d *DevGenesys) point(cfg *config.Config) {
	if c, ok := cfg.Connections["genesys"]; ok && c.HasCredential() {
		return
	}
	base, _ := url.Parse(d.URL)
	conn := config.NewConnection("genesys", base)
	if prev, ok := cfg.Connections["genesys"]; ok {
		conn = prev
		conn.BaseURL = base
	}
	conn.OAuth2 = &config.OAuth2{
		TokenURL:     d.URL + "/oauth/token",
		ClientID:     d.sim.ClientID(),
		ClientSecret: d.sim.ClientSecret(),
		ExpiryBuffer: config.DefaultExpiryBuffer,
	}
	if cfg.Connections == nil {
		cfg.Connections = map[string]*config.Connection{}
	}
	cfg.Connections["genesys"] = conn
}

// Run serves the simulator until ctx is done.
func (d *DevGenesys) Run(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() { d.srv.Close() })
	defer stop()
	if err := d.srv.Serve(d.ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
