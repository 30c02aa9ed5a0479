package app

import (
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/switchboard-dev/switchboard/host/config"
	"github.com/switchboard-dev/switchboard/host/genesys/sim"
)

// StartDevGenesys serves an embedded Genesys Cloud simulator on a loopback
// port and points the "genesys" connection at it, when the config gives
// that connection no credential (serve --dev). It returns a function that
// stops the simulator, and its URL ("" when the config's connection is used).
func StartDevGenesys(cfg *config.Config) (stop func(), simURL string, err error) {
	if c, ok := cfg.Connections["genesys"]; ok && c.HasCredential() {
		return func() {}, "", nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	s := sim.New(sim.Options{})
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	base := &url.URL{Scheme: "http", Host: ln.Addr().String()}
	conn := config.NewConnection("genesys", base)
	if prev, ok := cfg.Connections["genesys"]; ok {
		conn = prev
		conn.BaseURL = base
	}
	conn.OAuth2 = &config.OAuth2{
		TokenURL:     base.String() + "/oauth/token",
		ClientID:     s.ClientID(),
		ClientSecret: s.ClientSecret(),
		ExpiryBuffer: config.DefaultExpiryBuffer,
	}
	cfg.Connections["genesys"] = conn
	return func() { srv.Close() }, base.String(), nil
}
