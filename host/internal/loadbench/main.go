// Command loadbench measures the host's request path over HTTP, side by side
// in one run, for `make bench`:
//
//	(a) in-process baseline: the same server and pipeline (decode, map,
//	    validate, call, validate, encode) with the handler a Go function;
//	(b) the host → echo plugin path: the handler in a go-plugin subprocess;
//	(c) the host → genesys-users path: fetchUserProfile makes one outbound
//	    call per request, through the host, to a local Genesys Cloud
//	    simulator (served in the host process, so its CPU counts too);
//	(s) the seed's way, for comparison: (a) with both JSON schemas compiled
//	    on every request;
//	(t) and (p), with -benthos: the same ticket work in a plugin behind the
//	    host and in Benthos, in process; (u) is (t) with the plugin held to
//	    protocol version 1 (one Invoke call per request, not the Session
//	    stream).
//
// Then, in the same run: the plugin cold start (start, handshake, describe;
// median of 10), an idle plugin's resident memory, the latency of (a) and
// (b) at concurrency 1, and the host's resident memory after 20 000 and
// after 200 000 requests to (b).
//
// Rounds of each scenario alternate (a b a b …) so that a noisy machine
// affects both alike; it reports the median round. The load comes from a
// separate process (this binary re-executed with -load), so the CPU figures
// are the server's own: the host process plus its plugin processes.
//
// The last line is plugin_vs_inprocess_throughput_ratio=<median b / median a>.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/switchboard-dev/switchboard/host/app"
	"github.com/switchboard-dev/switchboard/host/catalog"
	"github.com/switchboard-dev/switchboard/host/config"
	"github.com/switchboard-dev/switchboard/host/genesys/sim"
	"github.com/switchboard-dev/switchboard/host/internal/benchwork"
	"github.com/switchboard-dev/switchboard/host/pipeline"
	"github.com/switchboard-dev/switchboard/host/registry"
	"github.com/switchboard-dev/switchboard/host/sandbox"
	"github.com/switchboard-dev/switchboard/host/server"
	"github.com/switchboard-dev/switchboard/proto/pluginv1"
)

func main() {
	var (
		pluginDir   = flag.String("plugin-dir", "./bin/plugins", "directory holding the echo plugin")
		launcher    = flag.String("launcher", "./bin/switchboard-sandbox", "the plugin sandbox launcher")
		concurrency = flag.Int("c", 16, "concurrent connections")
		duration    = flag.Duration("d", 5*time.Second, "length of one round")
		rounds      = flag.Int("rounds", 3, "rounds per scenario")
		load        = flag.String("load", "", "internal: generate load against this URL and print the result as JSON")
		body        = flag.String("body", "", "internal: the request body of -load")
		count       = flag.Int("n", 0, "internal: with -load, send this many requests instead of running for -d")
		memory      = flag.Bool("memory", true, "measure resident memory after 20 000 and 200 000 requests")
		cpuprofile  = flag.String("cpuprofile", "", "write the host process's CPU profile to this file")
		only        = flag.String("only", "", "run only the scenarios with these letters, e.g. \"b\" (the ratio needs a and b)")
		benthos     = flag.String("benthos", "", "the peer's binary (bench/benthos): runs scenarios t and p, the ticket work in a plugin and in Benthos")
		ticket      = flag.String("ticket-plugin", "", "the ticket plugin's binary (host/internal/ticketplugin), with -benthos")
	)
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadbench:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if *load != "" {
		if err := generate(*load, []byte(*body), *concurrency, *duration, *count); err != nil {
			fmt.Fprintln(os.Stderr, "loadbench:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*pluginDir, *launcher, *concurrency, *duration, *rounds, *only, *memory, *benthos, *ticket); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "loadbench:", err)
		os.Exit(1)
	}
}

// scenario is one server under test.
type scenario struct {
	name    string
	url     string
	body    string
	pids    []int // plugin processes whose CPU counts too
	gogc    int   // the host's GOGC while it runs; 0: the process's own
	results []result
}

// result is one round of load, as the generator reports it.
type result struct {
	Requests     int           `json:"requests"`
	Errors       int           `json:"errors"`
	Seconds      float64       `json:"seconds"`
	P50          time.Duration `json:"p50"`
	P99          time.Duration `json:"p99"`
	CPUPerReq    time.Duration `json:"-"` // server CPU (host + plugins) per request
	PluginPerReq time.Duration `json:"-"` // the plugins' share of it
}

func (r result) rps() float64 { return float64(r.Requests) / r.Seconds }

func run(pluginDir, launcher string, concurrency int, duration time.Duration, rounds int, only string, memory bool, benthos, ticketPlugin string) error {
	cfg := config.Default()
	cfg.PluginDir = pluginDir
	cfg.LogLevel = "warn"
	var err error
	if cfg.SandboxLauncher, err = filepath.Abs(launcher); err != nil {
		return err
	}
	grant := config.DefaultPlugin()
	grant.Connections = []string{"genesys"}
	cfg.Plugins["genesys-users"] = grant
	// Dev: the genesys connection calls an embedded simulator.
	host, err := app.NewWithOptions(cfg, hclog.New(&hclog.LoggerOptions{Level: hclog.Warn, Output: os.Stderr}), app.Options{Dev: true})
	if err != nil {
		return err
	}
	defer host.Close()
	if _, err := host.Load(context.Background()); err != nil {
		return err
	}
	echo, ok := host.Registry.Current().Lookup("echo")
	if !ok {
		return fmt.Errorf("no echo action in %s: run make build first", pluginDir)
	}

	// (a) The same action description, server and pipeline, with the handler
	// in this process: it returns its input, as the echo plugin does.
	inproc, err := inProcessEcho(host, echo)
	if err != nil {
		return err
	}
	users, ok := host.Registry.Current().Lookup("fetchUserProfile")
	if !ok {
		return fmt.Errorf("no fetchUserProfile action in %s: run make build first", pluginDir)
	}
	inprocURL, stop, err := listen(inproc)
	if err != nil {
		return err
	}
	defer stop()
	seedURL, stop, err := listen(seedEcho(echo))
	if err != nil {
		return err
	}
	defer stop()
	hostURL, stop, err := listen(host.Handler())
	if err != nil {
		return err
	}
	defer stop()
	// (h) Another host, fetchUserProfile cached in memory: every request
	// after the first is a hit.
	cached := *cfg
	cached.Actions = map[string]config.Action{"fetchUserProfile": {Cache: &config.ActionCache{TTL: time.Hour}}}
	cached.Cache = &config.Cache{Store: config.CacheMemory, MaxBytes: config.DefaultCacheMaxBytes}
	cachedHost, err := app.NewWithOptions(&cached, hclog.New(&hclog.LoggerOptions{Level: hclog.Warn, Output: os.Stderr}), app.Options{Dev: true})
	if err != nil {
		return err
	}
	defer cachedHost.Close()
	if _, err := cachedHost.Load(context.Background()); err != nil {
		return err
	}
	cachedURL, stop, err := listen(cachedHost.Handler())
	if err != nil {
		return err
	}
	defer stop()
	const echoBody = `{"message":"hello from loadbench"}`
	a := &scenario{name: "a in-process baseline", url: inprocURL + "/actions/echo", body: echoBody}
	b := &scenario{name: "b host -> echo plugin", url: hostURL + "/actions/echo", body: echoBody, pids: []int{echo.Plugin.PID}}
	c := &scenario{name: "c host -> genesys-users", url: hostURL + "/actions/fetchUserProfile",
		body: fmt.Sprintf(`{"userId":%q}`, sim.AgentUserID), pids: []int{users.Plugin.PID}}
	seed := &scenario{name: "s seed-style (compile/req)", url: seedURL + "/actions/echo", body: echoBody}
	hit := &scenario{name: "h cache hit (fetchUser…)", url: cachedURL + "/actions/fetchUserProfile", body: c.body}
	all := []*scenario{a, b, c, hit, seed}
	// (t) and (p): the same ticket work, in a plugin behind the host and in
	// the peer, Benthos, all in one process.
	var t, unary, peer *scenario
	if benthos != "" && ticketPlugin != "" {
		ticketURL, ticketPID, stop, err := ticketHost(cfg, ticketPlugin, nil)
		if err != nil {
			return err
		}
		defer stop()
		unaryURL, unaryPID, stopUnary, err := ticketHost(cfg, ticketPlugin, []int{pluginv1.ProtocolUnary})
		if err != nil {
			return err
		}
		defer stopUnary()
		peerURL, peerPID, stopPeer, err := startPeer(benthos)
		if err != nil {
			return err
		}
		defer stopPeer()
		t = &scenario{name: "t host -> ticket plugin", url: ticketURL, body: benchwork.Body, pids: []int{ticketPID}}
		unary = &scenario{name: "u ticket, protocol 1", url: unaryURL, body: benchwork.Body, pids: []int{unaryPID}}
		peer = &scenario{name: "p peer: Benthos v4.60", url: peerURL, body: benchwork.Body, pids: []int{peerPID}}
		gc := &scenario{name: "g ticket, host GOGC=200", url: ticketURL, body: benchwork.Body, pids: []int{ticketPID}, gogc: 200}
		all = append(all, t, unary, gc, peer)
	}
	var scenarios []*scenario
	for _, s := range all {
		if only == "" || strings.Contains(only, s.name[:1]) {
			scenarios = append(scenarios, s)
		}
	}

	fmt.Printf("load: %d connections, %d rounds of %v per scenario, alternating; figures are the median round\n", concurrency, rounds, duration)
	for i := 0; i < rounds; i++ {
		for _, s := range scenarios {
			r, err := measure(s, concurrency, duration)
			if err != nil {
				return err
			}
			s.results = append(s.results, r)
		}
	}
	fmt.Printf("%-26s %10s %9s %9s %14s %14s %7s\n", "scenario", "req/s", "p50", "p99", "server CPU/req", "in plugins", "errors")
	for _, s := range scenarios {
		m := median(s.results)
		errs := 0
		for _, r := range s.results {
			errs += r.Errors
		}
		fmt.Printf("%-26s %10.0f %9s %9s %14s %14s %7d\n", s.name, m.rps(), ms(m.P50), ms(m.P99), us(m.CPUPerReq), us(m.PluginPerReq), errs)
	}
	if len(a.results) > 0 && len(seed.results) > 0 {
		fmt.Printf("inprocess_vs_seed_throughput_ratio=%.2f (a/s: what compiling schemas once buys)\n", median(a.results).rps()/median(seed.results).rps())
	}
	if err := coldStart(echo, cfg.SandboxLauncher); err != nil {
		return err
	}
	if len(a.results) > 0 && len(b.results) > 0 {
		one := []*scenario{a, b}
		if len(hit.results) > 0 {
			one = append(one, hit)
		}
		m, err := concurrencyOne(rounds, duration, one...)
		if err != nil {
			return err
		}
		fmt.Printf("plugin_hop_p50_at_concurrency_1=%s (b-a: what the plugin adds to one request alone)\n", us(m[1].P50-m[0].P50))
		if len(m) > 2 {
			fmt.Printf("cache_hit_vs_plugin_at_concurrency_1=%.2f (h/b req/s)\n", m[2].rps()/m[1].rps())
		}
	}
	if memory {
		if err := residentMemory(b, concurrency); err != nil {
			return err
		}
	}
	if len(b.results) > 0 && len(c.results) > 0 {
		fmt.Printf("outbound_vs_plugin_throughput_ratio=%.2f (c/b: the cost of one outbound call through the host)\n", median(c.results).rps()/median(b.results).rps())
	}
	if len(b.results) > 0 && len(hit.results) > 0 {
		fmt.Printf("cache_hit_vs_plugin_throughput_ratio=%.2f (h/b)\n", median(hit.results).rps()/median(b.results).rps())
	}
	if t != nil && len(t.results) > 0 && len(unary.results) > 0 {
		fmt.Printf("session_vs_unary_throughput_ratio=%.2f (t/u: protocol 2's one stream against protocol 1's call per request)\n", median(t.results).rps()/median(unary.results).rps())
	}
	if t != nil && len(t.results) > 0 && len(peer.results) > 0 {
		fmt.Printf("plugin_vs_benthos_throughput_ratio=%.2f (t/p: the ticket work in a plugin against Benthos in process)\n", median(t.results).rps()/median(peer.results).rps())
	}
	// The last line, which scripts read.
	if len(a.results) > 0 && len(b.results) > 0 {
		fmt.Printf("plugin_vs_inprocess_throughput_ratio=%.2f\n", median(b.results).rps()/median(a.results).rps())
	}
	return nil
}

// concurrencyOne measures scenarios one request at a time, alternating:
// the latency a request sees when nothing else runs. It returns each
// scenario's median round.
func concurrencyOne(rounds int, duration time.Duration, scenarios ...*scenario) ([]result, error) {
	results := make([][]result, len(scenarios))
	for range rounds {
		for i, s := range scenarios {
			r, err := measure(s, 1, duration)
			if err != nil {
				return nil, err
			}
			results[i] = append(results[i], r)
		}
	}
	fmt.Println("at concurrency 1:")
	medians := make([]result, len(scenarios))
	for i, s := range scenarios {
		medians[i] = median(results[i])
		fmt.Printf("  %-26s %10.0f req/s  p50 %s\n", s.name, medians[i].rps(), ms(medians[i].P50))
	}
	return medians, nil
}

// ticketHost is a host serving the ticket plugin alone, on its own HTTP
// server: its URL, the plugin's pid, how to stop it.
func ticketHost(base *config.Config, plugin string, protocols []int) (string, int, func(), error) {
	dir, err := os.MkdirTemp("", "loadbench-ticket-")
	if err != nil {
		return "", 0, nil, err
	}
	b, err := os.ReadFile(plugin)
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, "ticket"), b, 0o755)
	}
	if err != nil {
		return "", 0, nil, err
	}
	cfg := *base
	cfg.PluginDir, cfg.Plugins, cfg.Actions = dir, map[string]config.Plugin{}, map[string]config.Action{}
	host, err := app.NewWithOptions(&cfg, hclog.New(&hclog.LoggerOptions{Level: hclog.Warn, Output: os.Stderr}), app.Options{PluginProtocols: protocols})
	if err != nil {
		return "", 0, nil, err
	}
	if _, err := host.Load(context.Background()); err != nil {
		host.Close()
		return "", 0, nil, err
	}
	a, ok := host.Registry.Current().Lookup("ticket")
	if !ok {
		host.Close()
		return "", 0, nil, fmt.Errorf("%s serves no ticket action", plugin)
	}
	url, stop, err := listen(host.Handler())
	if err != nil {
		host.Close()
		return "", 0, nil, err
	}
	return url + "/actions/ticket", a.Plugin.PID, func() { stop(); host.Close(); os.RemoveAll(dir) }, nil
}

// inProcessEcho builds a server whose only action is echo's description with
// a Go function as its handler.
func inProcessEcho(host *app.Host, echo *registry.Action) (http.Handler, error) {
	desc := registry.Description{Name: echo.Name, InputSchema: echo.InputSchemaJSON, OutputSchema: echo.OutputSchemaJSON}
	a, err := registry.NewAction(desc, registry.Plugin{Name: "in-process"}, echoFunc{}, registry.Overrides{}, registry.Options{})
	if err != nil {
		return nil, err
	}
	snap, err := registry.NewSnapshot(a)
	if err != nil {
		return nil, err
	}
	reg := &registry.Registry{}
	reg.Swap(snap)
	return server.New(server.Options{Pipeline: pipeline.New(reg, pipeline.Options{Observer: host.Metrics}), MaxBodyBytes: host.Config.MaxBodyBytes, Observer: host.Metrics}), nil
}

type echoFunc struct{}

func (echoFunc) Invoke(ctx context.Context, inv *registry.Invocation) ([]byte, error) {
	return inv.Input, nil
}

func listen(h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), func() { srv.Close() }, nil
}

// measure runs one round against s from a separate load process and
// attributes the server's CPU time to it.
func measure(s *scenario, concurrency int, duration time.Duration) (result, error) {
	self, err := os.Executable()
	if err != nil {
		return result{}, err
	}
	cmd := exec.Command(self, "-load", s.url, "-body", s.body, "-c", strconv.Itoa(concurrency), "-d", duration.String())
	cmd.Stderr = os.Stderr
	if s.gogc != 0 {
		defer debug.SetGCPercent(debug.SetGCPercent(s.gogc))
	}
	hostBefore, pluginsBefore := cpu(s.pids)
	out, err := cmd.Output()
	if err != nil {
		return result{}, fmt.Errorf("load against %s: %w", s.url, err)
	}
	hostAfter, pluginsAfter := cpu(s.pids)
	plugins := pluginsAfter - pluginsBefore
	used := hostAfter - hostBefore + plugins
	var r result
	if err := json.Unmarshal(out, &r); err != nil {
		return result{}, err
	}
	if r.Requests > 0 {
		r.CPUPerReq = used / time.Duration(r.Requests)
		r.PluginPerReq = plugins / time.Duration(r.Requests)
	}
	return r, nil
}

// cpu is the CPU time used so far by this process and by the given processes.
func cpu(pids []int) (self, others time.Duration) {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	for _, pid := range pids {
		b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
		if err != nil {
			continue
		}
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		utime, _ := strconv.ParseInt(f[11], 10, 64) // fields 14 and 15 of stat, in clock ticks
		stime, _ := strconv.ParseInt(f[12], 10, 64)
		others += time.Duration(utime+stime) * (time.Second / 100) // USER_HZ is 100 on Linux
	}
	return self, others
}

func median(rs []result) result {
	s := append([]result(nil), rs...)
	sort.Slice(s, func(i, j int) bool { return s[i].rps() < s[j].rps() })
	return s[len(s)/2]
}

// generate is the load process: concurrency workers POST the same small
// input over keep-alive connections for the duration.
func generate(url string, body []byte, concurrency int, duration time.Duration, count int) error {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency, DisableCompression: true}}
	// Warm up the connections, outside the measurement.
	for i := 0; i < concurrency*4; i++ {
		if err := post(client, url, body); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
	}
	var (
		mu        sync.Mutex
		latencies []time.Duration
		errs      int
		wg        sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(duration)
	var sent atomic.Int64
	more := func() bool {
		if count > 0 {
			return sent.Add(1) <= int64(count)
		}
		return time.Now().Before(deadline)
	}
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat := make([]time.Duration, 0, 1<<16)
			bad := 0
			for more() {
				t0 := time.Now()
				if err := post(client, url, body); err != nil {
					bad++
					continue
				}
				lat = append(lat, time.Since(t0))
			}
			mu.Lock()
			latencies = append(latencies, lat...)
			errs += bad
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	if len(latencies) == 0 {
		return errors.New("no request succeeded")
	}
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	return json.NewEncoder(os.Stdout).Encode(result{
		Requests: len(latencies), Errors: errs, Seconds: elapsed,
		P50: latencies[len(latencies)/2], P99: latencies[len(latencies)*99/100],
	})
}

func post(client *http.Client, url string, body []byte) error {
	resp, err := client.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("status %d", resp.StatusCode)
	}
	return err
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }
func us(d time.Duration) string { return fmt.Sprintf("%.1fµs", float64(d)/float64(time.Microsecond)) }

// seedEcho is the seed's request path: the same steps as the pipeline, but
// both schemas compiled on every request.
func seedEcho(echo *registry.Action) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		in, err := pipeline.DecodeObject(body)
		if err == nil {
			err = compileAndValidate(echo.InputSchemaJSON, in)
		}
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		out := body // the handler returns its input
		decoded, err := pipeline.DecodeObject(out)
		if err == nil {
			err = compileAndValidate(echo.OutputSchemaJSON, decoded)
		}
		if err != nil {
			http.Error(w, err.Error(), 502)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(out)
	})
}

func compileAndValidate(schema []byte, v any) error {
	s, err := jsonschema.CompileString("schema.json", string(schema))
	if err != nil {
		return err
	}
	return s.Validate(v)
}

// coldStart starts the echo plugin ten times in its sandbox and ten times
// without one, alternating: verify (read, seal, hash), start, handshake and
// describe.
func coldStart(echo *registry.Action, launcher string) error {
	dir, err := os.MkdirTemp("", "loadbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o711); err != nil {
		return err
	}
	modes := []sandbox.Mode{sandbox.BestEffort, sandbox.Off}
	times := map[sandbox.Mode][]time.Duration{}
	var rss, anon []int64 // of each process just started, idle
	caps := sandbox.Probe(launcher)
	for i := 0; i < 10; i++ {
		for _, mode := range modes {
			start := time.Now()
			v, err := catalog.Verify(catalog.Binary{Name: "echo", Path: echo.Plugin.Path})
			if err != nil {
				return fmt.Errorf("cold start: %w", err)
			}
			p, err := catalog.Start(context.Background(), v, catalog.ProcessOptions{
				SocketRoot: dir, GOMAXPROCS: 1, Capabilities: caps,
				Sandbox: sandbox.Policy{Mode: mode, Limits: sandbox.DefaultLimits()},
			})
			v.Close()
			if err != nil {
				return fmt.Errorf("cold start: %w", err)
			}
			times[mode] = append(times[mode], time.Since(start))
			rss = append(rss, statusKiB(p.PID(), "VmRSS"))
			anon = append(anon, statusKiB(p.PID(), "RssAnon"))
			p.Kill()
		}
	}
	for _, mode := range modes {
		t := times[mode]
		sort.Slice(t, func(i, j int) bool { return t[i] < t[j] })
		fmt.Printf("plugin cold start, sandbox %s (verify + start + handshake + describe), median of 10: %s (min %s, max %s)\n", mode, ms(t[5]), ms(t[0]), ms(t[9]))
	}
	slices.Sort(rss)
	slices.Sort(anon)
	// A plugin runs from its sealed memory file: the pages of its binary it
	// touched count in its RSS (as shared memory) but belong to that file,
	// one copy for all of the plugin's processes.
	fmt.Printf("idle plugin resident memory (echo, just started), median of %d: %d KiB, of which its own (anonymous) %d KiB; the rest is its binary's sealed memory file\n",
		len(rss), rss[len(rss)/2], anon[len(anon)/2])
	return nil
}

// residentMemory reports the host process's resident memory after 20 000
// and after 200 000 requests to s.
func residentMemory(s *scenario, concurrency int) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	var rss [2]int64
	for i, n := range []int{20_000, 180_000} {
		cmd := exec.Command(self, "-load", s.url, "-body", s.body, "-c", strconv.Itoa(concurrency), "-n", strconv.Itoa(n))
		cmd.Stderr = os.Stderr
		if _, err := cmd.Output(); err != nil {
			return fmt.Errorf("memory load: %w", err)
		}
		runtime.GC()
		rss[i] = residentKiB()
	}
	fmt.Printf("host resident memory (%s): after 20 000 requests %d KiB, after 200 000 %d KiB (%+.1f%%)\n",
		s.name[2:], rss[0], rss[1], 100*float64(rss[1]-rss[0])/float64(rss[0]))
	return nil
}

// residentKiB reads VmRSS from /proc/self/status.
func residentKiB() int64 { return statusKiB(0, "VmRSS") }

// statusKiB reads a field in kB of /proc/PID/status (0: this process).
func statusKiB(pid int, field string) int64 {
	path := "/proc/self/status"
	if pid > 0 {
		path = "/proc/" + strconv.Itoa(pid) + "/status"
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}
