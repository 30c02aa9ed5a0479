package cli_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	replicaKey    = "replica-key-0123456789abcdef"
	replicaSecret = "replica-oauth-secret-0123456789"
)

// freePorts reserves n loopback ports: listened on, then let go.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}

// replicaLoad is replicaload's answer counts.
type replicaLoad struct {
	Total, OK int
	Failures  map[string]int
}

// startLoad runs replicaload against url; stop ends it and returns its counts.
func startReplicaLoad(t *testing.T, url string) (stop func() replicaLoad) {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "replicaload"), "-url", url, "-key", replicaKey, "-c", "4", "-d", "2m")
	var out bytes.Buffer
	cmd.Stdout = &out
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	io.ReadFull(stderr, make([]byte, len("replicaload: sending"))) // it is sending
	go io.Copy(io.Discard, stderr)
	return func() replicaLoad {
		cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			t.Fatalf("replicaload: %v", err)
		}
		var l replicaLoad
		if err := json.Unmarshal(out.Bytes(), &l); err != nil {
			t.Fatalf("replicaload printed %q: %v", out.String(), err)
		}
		return l
	}
}

// TestReplicasBehindHAProxy: three hosts with one config behind HAProxy,
// which health-checks /readyz, under steady load from another process. A
// rolling restart (SIGTERM each in turn, then its replacement on the same
// address) fails no request; a token from one replica's /oauth/token is
// accepted by the others; a kill -9 of one replica fails only what was in
// flight to it.
func TestReplicasBehindHAProxy(t *testing.T) {
	haproxy, err := exec.LookPath("haproxy")
	if err != nil {
		t.Skip("haproxy is not installed (Debian: apt-get install haproxy)")
	}
	t.Parallel()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "switchboard.hcl")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`shutdown_delay   = "1s"
shutdown_timeout = "5s"
inbound {
  api_key {
    keys = [%q]
  }
  oauth {
    client_id     = "genesys-cloud"
    client_secret = %q
  }
}
plugin "testplugin" {
  connections = ["genesys"]
}
`, replicaKey, replicaSecret)), 0o600)

	ports := freePorts(t, 4)
	front, backends := ports[0], ports[1:]
	replicas := make([]*serving, 3)
	for i, port := range backends {
		replicas[i] = serve(t, "--config", cfg, "--listen", fmt.Sprintf("127.0.0.1:%d", port))
	}
	hcfg := filepath.Join(dir, "haproxy.cfg")
	var servers strings.Builder
	for i, port := range backends {
		fmt.Fprintf(&servers, "  server r%d 127.0.0.1:%d check\n", i+1, port)
	}
	os.WriteFile(hcfg, []byte(fmt.Sprintf(`global
  maxconn 256
defaults
  mode http
  timeout connect 1s
  timeout client 10s
  timeout server 10s
  option http-server-close
  retries 3
  option redispatch
  # Only a connection that failed is retried: the request never reached a
  # host. A request a host took and died with is lost, not sent twice.
  retry-on conn-failure
frontend api
  bind 127.0.0.1:%d
  default_backend hosts
backend hosts
  balance roundrobin
  option httpchk GET /readyz
  http-check expect status 200
  default-server inter 100ms fall 1 rise 2
%s`, front, servers.String())), 0o600)
	hp := exec.Command(haproxy, "-f", hcfg, "-db")
	var hpLog bytes.Buffer
	hp.Stdout, hp.Stderr = &hpLog, &hpLog
	if err := hp.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hp.Process.Kill(); hp.Wait() })
	frontURL := fmt.Sprintf("http://127.0.0.1:%d", front)
	deadline := time.Now().Add(10 * time.Second)
	for {
		req, _ := http.NewRequest("POST", frontURL+"/actions/echo", strings.NewReader(`{"message":"x"}`))
		req.Header.Set("X-Switchboard-Key", replicaKey)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("haproxy never served\n%s", hpLog.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	// A token from replica 1 is good on replicas 2 and 3.
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {"genesys-cloud"}, "client_secret": {replicaSecret}}
	resp, err := http.PostForm(replicas[0].url+"/oauth/token", form)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if tok.AccessToken == "" {
		t.Fatalf("no token from replica 1: %d", resp.StatusCode)
	}
	for _, r := range replicas[1:] {
		req, _ := http.NewRequest("POST", r.url+"/actions/echo", strings.NewReader(`{"message":"x"}`))
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Errorf("replica 1's token at %s: %v %v", r.url, resp, err)
		}
		if resp != nil {
			resp.Body.Close()
		}
	}

	// A rolling restart under load fails nothing.
	stop := startReplicaLoad(t, frontURL+"/actions/echo")
	for i, port := range backends {
		if err := replicas[i].cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case <-replicas[i].done:
		case <-time.After(15 * time.Second):
			t.Fatalf("replica %d did not stop", i+1)
		}
		replicas[i] = serve(t, "--config", cfg, "--listen", fmt.Sprintf("127.0.0.1:%d", port))
		time.Sleep(300 * time.Millisecond) // HAProxy's rise: two checks 100 ms apart
	}
	rolling := stop()
	t.Logf("rolling restart of 3 replicas: %d requests, %d failed %v", rolling.Total, rolling.Total-rolling.OK, rolling.Failures)
	if rolling.OK != rolling.Total || rolling.Total < 100 {
		t.Errorf("rolling restart: %d of %d requests failed: %v", rolling.Total-rolling.OK, rolling.Total, rolling.Failures)
	}

	// kill -9 of one replica loses at most what was in flight to it: one
	// request per worker.
	stop = startReplicaLoad(t, frontURL+"/actions/echo")
	time.Sleep(500 * time.Millisecond)
	replicas[1].cmd.Process.Kill()
	time.Sleep(time.Second)
	killed := stop()
	t.Logf("kill -9 of one of 3 replicas: %d requests, %d failed %v", killed.Total, killed.Total-killed.OK, killed.Failures)
	if failed := killed.Total - killed.OK; failed > 4 {
		t.Errorf("kill -9: %d requests failed, more than the 4 that can be in flight: %v", failed, killed.Failures)
	}
}
