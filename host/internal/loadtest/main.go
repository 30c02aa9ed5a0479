// Command loadtest runs `make loadtest`: the built host (bin/switchboard
// serve, with an API key and the genesys connection on a separate
// simulator process) under load from vegeta on both example actions, with 32
// connections for 30 s, and — unless -chaos=false — chaos during the load:
//
//	at  8 s: one of the echo plugin's processes is killed (kill -9);
//	at 14 s: the genesys-users binary is replaced (mv of a new build);
//	at 20 s: Genesys Cloud (the simulator) answers 503 to everything, for 3 s.
//
// It prints throughput, p50 and p99 per action and every failed request,
// sorted into the failures the design allows (echo: 503 plugin_unavailable
// in the killed process — with processes = 2 (the default of -processes)
// the other process serves meanwhile, with 1 requests wait up to
// restart_wait for the restart; fetchUserProfile: 503 genesys_unavailable or
// circuit_open while the downstream fails, and until its circuit closes)
// and the others. It exits 1 when any request failed that the design says
// may not.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

func main() {
	var (
		bin         = flag.String("bin", "./bin/switchboard", "the switchboard binary")
		pluginDir   = flag.String("plugin-dir", "./bin/plugins", "where the built echo and genesys-users plugins are")
		duration    = flag.Duration("d", 30*time.Second, "length of the load")
		connections = flag.Int("c", 32, "connections")
		chaos       = flag.Bool("chaos", true, "kill, replace and fail things during the load")
		processes   = flag.Int("processes", 2, "processes of the echo plugin (plugin \"echo\" { processes })")
	)
	flag.Parse()
	if err := run(*bin, *pluginDir, *duration, *connections, *chaos, *processes); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

const apiKey = "loadtest-key-0123456789abcdef"

func run(bin, pluginDir string, duration time.Duration, connections int, chaos bool, processes int) error {
	dir, err := os.MkdirTemp("", "switchboard-loadtest-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	plugins := filepath.Join(dir, "plugins")
	if err := os.Mkdir(plugins, 0o755); err != nil {
		return err
	}
	for _, p := range []string{"echo", "genesys-users"} {
		if err := copyFile(filepath.Join(pluginDir, p), filepath.Join(plugins, p), nil); err != nil {
			return fmt.Errorf("%w (run make build first)", err)
		}
	}

	simCmd := exec.Command(bin, "sim", "genesys", "--listen", "127.0.0.1:0")
	simURL, _, err := startAndRead(simCmd, true, regexp.MustCompile(`simulator on (\S+)`))
	if err != nil {
		return fmt.Errorf("simulator: %w", err)
	}
	defer stop(simCmd)

	cfgPath := filepath.Join(dir, "switchboard.hcl")
	cfg := fmt.Sprintf(`
plugin_dir   = %q
admin_listen = "127.0.0.1:0"
log_level    = "info"
inbound {
  api_key {
    keys = [%q]
  }
}
connection "genesys" {
  base_url = %q
  oauth2 {
    token_url     = "%s/oauth/token"
    client_id     = "sim-client"
    client_secret = "sim-secret"
  }
  max_concurrency = 64
  circuit {
    failures = 5
    open_for = "1s"
  }
}
plugin "genesys-users" {
  connections = ["genesys"]
}
plugin "echo" {
  processes    = %d
  restart_wait = "1s"
}
`, plugins, apiKey, simURL, simURL, processes)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return err
	}
	host := exec.Command(bin, "serve", "--config", cfgPath, "--listen", "127.0.0.1:0")
	hostURL, hostLog, err := startAndRead(host, false, regexp.MustCompile(`listening: addr=(\S+)`))
	if err != nil {
		return fmt.Errorf("host: %w", err)
	}
	defer stop(host)
	hostURL = "http://" + hostURL
	adminURL, err := adminAddress(hostLog)
	if err != nil {
		return err
	}
	if err := waitReady(hostURL); err != nil {
		return err
	}

	header := http.Header{"X-Switchboard-Key": {apiKey}, "Content-Type": {"application/json"}}
	targeter := vegeta.NewStaticTargeter(
		vegeta.Target{Method: "POST", URL: hostURL + "/actions/echo", Body: []byte(`{"message":"load"}`), Header: header},
		vegeta.Target{Method: "POST", URL: hostURL + "/actions/fetchUserProfile", Body: []byte(`{"userId":"ce7c4800-8199-4882-a74f-ebbe5098d075"}`), Header: header},
	)
	attacker := vegeta.NewAttacker(vegeta.Connections(connections), vegeta.MaxConnections(connections),
		vegeta.MaxWorkers(uint64(connections)), vegeta.Workers(uint64(connections)), vegeta.Timeout(15*time.Second), vegeta.KeepAlive(true))

	start := time.Now()
	var windows []window
	if chaos {
		windows = scheduleChaos(start, adminURL, simURL, plugins, dir)
	}
	var results []*vegeta.Result
	for res := range attacker.Attack(targeter, vegeta.Rate{Freq: 0}, duration, "load") {
		results = append(results, res)
	}
	return report(results, windows, start, chaos)
}

// window is a stretch of time in which one action may fail in one way.
type window struct {
	what     string
	action   string
	from, to time.Time
	codes    []string
}

func scheduleChaos(start time.Time, adminURL, simURL, plugins, dir string) []window {
	at := func(d time.Duration) time.Time { return start.Add(d) }
	// The load runs on: the replacement of genesys-users at 14 s may fail
	// nothing, so it has no window.
	var windows []window
	go func() {
		time.Sleep(time.Until(at(8 * time.Second)))
		if pid := pluginPID(adminURL, "echo"); pid > 0 {
			syscall.Kill(pid, syscall.SIGKILL)
			fmt.Printf("%5.1fs chaos: kill -9 of an echo plugin process (pid %d)\n", time.Since(start).Seconds(), pid)
		}
	}()
	// A window opens a second early for the requests in flight when the
	// event happens.
	windows = append(windows, window{"echo plugin killed", "echo", at(7 * time.Second), at(11 * time.Second), []string{"plugin_unavailable"}})
	go func() {
		time.Sleep(time.Until(at(14 * time.Second)))
		next := filepath.Join(plugins, ".genesys-users.new")
		// A new build: the same binary with a trailing byte, so a new SHA-256.
		if err := copyFile(filepath.Join(plugins, "genesys-users"), next, []byte{0}); err == nil {
			os.Rename(next, filepath.Join(plugins, "genesys-users"))
			fmt.Printf("%5.1fs chaos: genesys-users replaced\n", time.Since(start).Seconds())
		}
	}()
	go func() {
		time.Sleep(time.Until(at(20 * time.Second)))
		http.Post(simURL+"/sim/faults", "application/json", strings.NewReader(`{"status":503,"count":-1}`))
		fmt.Printf("%5.1fs chaos: Genesys Cloud answers 503\n", time.Since(start).Seconds())
		time.Sleep(3 * time.Second)
		req, _ := http.NewRequest("DELETE", simURL+"/sim/faults", nil)
		http.DefaultClient.Do(req)
		fmt.Printf("%5.1fs chaos: Genesys Cloud recovers\n", time.Since(start).Seconds())
	}()
	windows = append(windows, window{"Genesys Cloud failing", "fetchUserProfile", at(19 * time.Second), at(25 * time.Second), []string{"genesys_unavailable", "circuit_open"}})
	return windows
}

func report(results []*vegeta.Result, windows []window, start time.Time, chaos bool) error {
	type stats struct {
		latencies  []time.Duration
		ok         int
		allowed    map[string]int
		unexpected map[string]int
		when       map[string][2]float64 // first and last failure, seconds into the load
	}
	byAction := map[string]*stats{}
	for _, r := range results {
		action := r.URL[strings.LastIndexByte(r.URL, '/')+1:]
		s := byAction[action]
		if s == nil {
			s = &stats{allowed: map[string]int{}, unexpected: map[string]int{}, when: map[string][2]float64{}}
			byAction[action] = s
		}
		s.latencies = append(s.latencies, r.Latency)
		if r.Code == 200 {
			s.ok++
			continue
		}
		var body struct{ Code string }
		json.Unmarshal(r.Body, &body)
		key := strings.TrimSpace(fmt.Sprintf("%d %s", r.Code, body.Code))
		if body.Code == "" && r.Error != "" {
			key += " (" + r.Error + ")"
		}
		at := r.Timestamp.Sub(start).Seconds()
		w, seen := s.when[key]
		if !seen {
			w = [2]float64{at, at}
		}
		s.when[key] = [2]float64{min(w[0], at), max(w[1], at)}
		if allowedFailure(windows, action, r, body.Code) {
			s.allowed[key]++
		} else {
			s.unexpected[key]++
		}
	}
	elapsed := time.Since(start).Seconds()
	fmt.Printf("\n%-18s %9s %8s %9s %9s %9s %11s\n", "action", "requests", "req/s", "p50", "p99", "failed", "unexpected")
	bad := 0
	names := make([]string, 0, len(byAction))
	for n := range byAction {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s := byAction[n]
		sort.Slice(s.latencies, func(i, j int) bool { return s.latencies[i] < s.latencies[j] })
		total := len(s.latencies)
		failed, unexpected := 0, 0
		for _, c := range s.allowed {
			failed += c
		}
		for _, c := range s.unexpected {
			failed += c
			unexpected += c
		}
		bad += unexpected
		fmt.Printf("%-18s %9d %8.0f %9s %9s %9d %11d\n", n, total, float64(total)/elapsed,
			ms(s.latencies[total/2]), ms(s.latencies[total*99/100]), failed, unexpected)
		for k, c := range s.allowed {
			fmt.Printf("    allowed by the design: %6d × %s (from %.1fs to %.1fs)\n", c, k, s.when[k][0], s.when[k][1])
		}
		for k, c := range s.unexpected {
			fmt.Printf("    UNEXPECTED:            %6d × %s (from %.1fs to %.1fs)\n", c, k, s.when[k][0], s.when[k][1])
		}
	}
	if !chaos {
		fmt.Println("(no chaos: every request must succeed)")
	}
	if bad > 0 {
		return fmt.Errorf("%d requests failed that the design says may not", bad)
	}
	return nil
}

func allowedFailure(windows []window, action string, r *vegeta.Result, code string) bool {
	for _, w := range windows {
		if w.action != action || r.Timestamp.Before(w.from) || r.Timestamp.After(w.to) {
			continue
		}
		for _, c := range w.codes {
			if c == code {
				return true
			}
		}
	}
	return false
}

// waitReady waits for the host's GET /readyz to answer 200, as a load
// balancer would before sending it traffic: the host serves HTTP while its
// plugins load.
func waitReady(hostURL string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(hostURL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the host was not ready within 30 s (%v)", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func pluginPID(adminURL, name string) int {
	resp, err := http.Get(adminURL + "/admin/plugins")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var views []struct {
		Name string
		PID  int
	}
	json.NewDecoder(resp.Body).Decode(&views)
	for _, v := range views {
		if v.Name == name {
			return v.PID
		}
	}
	return 0
}

// logBuffer collects a process's output while it runs.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) add(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.WriteString(line + "\n")
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startAndRead starts cmd and waits for a line of its output (stdout, or
// stderr) to match re; it returns the first group and the output so far,
// which keeps growing.
func startAndRead(cmd *exec.Cmd, fromStdout bool, re *regexp.Regexp) (string, *logBuffer, error) {
	var r io.ReadCloser
	var err error
	if fromStdout {
		r, err = cmd.StdoutPipe()
	} else {
		r, err = cmd.StderrPipe()
	}
	if err != nil {
		return "", nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	buf := &logBuffer{}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			buf.add(sc.Text())
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case s := <-found:
		return s, buf, nil
	case <-time.After(30 * time.Second):
		stop(cmd)
		return "", nil, errors.New("did not start:\n" + buf.String())
	}
}

// adminAddress reads the admin API's address from the host's log.
func adminAddress(log *logBuffer) (string, error) {
	re := regexp.MustCompile(`admin API listening.*addr=(\S+)`)
	for i := 0; i < 100; i++ {
		if m := re.FindStringSubmatch(log.String()); m != nil {
			return "http://" + m[1], nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return "", errors.New("the host did not report its admin address")
}

func stop(cmd *exec.Cmd) {
	if cmd.Process != nil {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
		}
	}
}

func copyFile(from, to string, extra []byte) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, append(b, extra...), 0o755)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }
