// Package metrics is the host's Prometheus instrumentation: requests,
// durations and validation failures by action, plugin state, and the
// outbound layer's calls, attempts, retries, circuits and OAuth tokens by
// connection. Every name starts with switchboard_; collectors live on the
// registry the caller injects, and label values are bounded (action names
// come from the registry, never from the caller), so memory stays flat
// however many requests pass.
package metrics

import (
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Buckets resolve 1 ms to 60 s (Genesys Cloud's limit) in 16 steps.
var buckets = prometheus.ExponentialBucketsRange(0.001, 60, 16)

// Metrics holds the host's collectors.
type Metrics struct {
	requests      *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	inflight      prometheus.Gauge
	validation    *prometheus.CounterVec
	auditFailures prometheus.Counter
	authFailures  *prometheus.CounterVec

	outRequests *prometheus.CounterVec
	outAttempts *prometheus.CounterVec
	outRetries  *prometheus.CounterVec
	outDuration *prometheus.HistogramVec
	attemptDur  *prometheus.HistogramVec
	circuit     *prometheus.GaugeVec
	tokens      *prometheus.CounterVec

	reloads    *prometheus.CounterVec
	reloadedAt prometheus.Gauge
	reloadOK   prometheus.Gauge

	cacheRequests  *prometheus.CounterVec
	cacheEvictions prometheus.Counter
	cacheStoreUp   prometheus.Gauge
	rateWaits      *prometheus.CounterVec
	rateRefusals   *prometheus.CounterVec
	rateFallback   *prometheus.GaugeVec

	mu       sync.Mutex
	circuits map[string]string // connection and plugin → state, for the one-hot gauge
}

// New creates the collectors and registers them, with the Go runtime and
// process collectors (prefixed switchboard_), on reg.
func New(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_requests_total",
			Help: "Inbound requests by action, HTTP status and code (\"ok\" for success). Action is empty when the request named no known action.",
		}, []string{"action", "status", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "switchboard_request_duration_seconds",
			Help:    "Time from a request's arrival to its answer, by action.",
			Buckets: buckets,
		}, []string{"action"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_auth_failures_total",
			Help: "Requests refused for their credentials, by route and result: rejected (401) or throttled (429, after repeated failures from one address).",
		}, []string{"route", "result"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "switchboard_requests_in_flight",
			Help: "Inbound requests being served.",
		}),
		validation: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_validation_failures_total",
			Help: "Inputs and outputs refused by their JSON schema, by action and stage (input or output).",
		}, []string{"action", "stage"}),
		auditFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "switchboard_audit_write_failures_total",
			Help: "Audit records that could not be written.",
		}),
		outRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_outbound_requests_total",
			Help: "Plugins' downstream calls by connection and final status (0: no answer).",
		}, []string{"connection", "status"}),
		outAttempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_outbound_attempts_total",
			Help: "HTTP requests sent downstream, retries included, by connection and status (0: no answer).",
		}, []string{"connection", "status"}),
		outRetries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_outbound_retries_total",
			Help: "Attempts made after a failed one, by connection.",
		}, []string{"connection"}),
		outDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "switchboard_outbound_request_duration_seconds",
			Help:    "Duration of plugins' downstream calls, retries and waits included, by connection.",
			Buckets: buckets,
		}, []string{"connection"}),
		attemptDur: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "switchboard_outbound_attempt_duration_seconds",
			Help:    "Latency of single downstream HTTP requests, by connection.",
			Buckets: buckets,
		}, []string{"connection"}),
		circuit: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "switchboard_outbound_circuit_state",
			Help: "1 for the current state (closed, open, half-open) of each plugin's circuit breaker on each connection.",
		}, []string{"connection", "plugin", "state"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_oauth_token_requests_total",
			Help: "OAuth token requests by connection and result (ok, error).",
		}, []string{"connection", "result"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_config_reloads_total",
			Help: "Config reloads by result: ok (applied) or error (refused; the config in effect stayed).",
		}, []string{"result"}),
		reloadedAt: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "switchboard_config_last_reload_success_timestamp_seconds",
			Help: "When the config in effect was loaded (at start or by the last reload that applied), Unix time.",
		}),
		reloadOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "switchboard_config_last_reload_successful",
			Help: "1 when the last reload applied the config file (or none was tried), 0 when it was refused and an older config is in effect.",
		}),
		cacheRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_cache_requests_total",
			Help: "Lookups of cached actions by result: hit, miss, stale (served while refreshed), stale_if_error (served while the plugin or downstream fails).",
		}, []string{"action", "result"}),
		cacheEvictions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "switchboard_cache_evictions_total",
			Help: "Entries the memory store evicted to stay within max_bytes.",
		}),
		cacheStoreUp: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "switchboard_cache_store_up",
			Help: "1 while the cache store answers; 0 while it fails and requests go to the plugins uncached.",
		}),
		rateWaits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_outbound_rate_limit_waits_total",
			Help: "Downstream attempts that waited for their turn under the connection's rate_limit.",
		}, []string{"connection"}),
		rateRefusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_outbound_rate_limited_total",
			Help: "Downstream calls refused with 429 rate_limited: no turn within their deadline.",
		}, []string{"connection"}),
		rateFallback: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "switchboard_outbound_rate_limit_local",
			Help: "1 while a shared rate limit runs on this replica's local share because Redis fails.",
		}, []string{"connection"}),
		circuits: map[string]string{},
	}
	m.reloadOK.Set(1)
	m.reloads.WithLabelValues("ok")
	m.reloads.WithLabelValues("error")
	m.reloadedAt.SetToCurrentTime()
	for _, c := range []prometheus.Collector{
		m.requests, m.duration, m.inflight, m.validation, m.auditFailures, m.authFailures,
		m.outRequests, m.outAttempts, m.outRetries, m.outDuration, m.attemptDur, m.circuit, m.tokens,
		m.reloads, m.reloadedAt, m.reloadOK, m.cacheRequests, m.cacheEvictions, m.cacheStoreUp,
		m.rateWaits, m.rateRefusals, m.rateFallback,
	} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	prefixed := prometheus.WrapRegistererWithPrefix("switchboard_", reg)
	for _, c := range []prometheus.Collector{collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
		if err := prefixed.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Request counts one answered inbound request.
func (m *Metrics) Request(action string, status int, code string, d time.Duration) {
	m.requests.WithLabelValues(action, strconv.Itoa(status), code).Inc()
	m.duration.WithLabelValues(action).Observe(d.Seconds())
}

// CacheRequest counts one lookup of a cached action.
func (m *Metrics) CacheRequest(action, result string) {
	m.cacheRequests.WithLabelValues(action, result).Inc()
}

// CacheStore says whether the cache store answers.
func (m *Metrics) CacheStore(up bool) {
	if up {
		m.cacheStoreUp.Set(1)
	} else {
		m.cacheStoreUp.Set(0)
	}
}

// CacheEvicted counts an entry evicted for room.
func (m *Metrics) CacheEvicted() { m.cacheEvictions.Inc() }

// RegisterCacheBytes exposes the memory store's size.
func RegisterCacheBytes(reg prometheus.Registerer, bytes func() uint64) error {
	return reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "switchboard_cache_bytes",
		Help: "Bytes the memory cache holds (keys, outputs and per-entry overhead), within max_bytes.",
	}, func() float64 { return float64(bytes()) }))
}

// ConfigReload counts a reload: applied (ok) or refused.
func (m *Metrics) ConfigReload(ok bool) {
	if ok {
		m.reloads.WithLabelValues("ok").Inc()
		m.reloadedAt.SetToCurrentTime()
		m.reloadOK.Set(1)
		return
	}
	m.reloads.WithLabelValues("error").Inc()
	m.reloadOK.Set(0)
}

// InFlight moves the in-flight gauge.
func (m *Metrics) InFlight(delta float64) { m.inflight.Add(delta) }

// ValidationFailed counts a refused input or output.
func (m *Metrics) ValidationFailed(action, stage string) {
	m.validation.WithLabelValues(action, stage).Inc()
}

// AuditFailure counts an audit record that could not be written.
func (m *Metrics) AuditFailure() { m.auditFailures.Inc() }

// AuthFailure counts a request refused for its credentials: result is
// "rejected" or "throttled".
func (m *Metrics) AuthFailure(route, result string) {
	m.authFailures.WithLabelValues(route, result).Inc()
}

// Outbound returns the metrics as the outbound layer's observer (it
// implements outbound.Observer).
func (m *Metrics) Outbound() OutboundObserver { return OutboundObserver{m} }

// OutboundObserver counts what connections do.
type OutboundObserver struct{ m *Metrics }

func (o OutboundObserver) Request(conn string, status, _ int, d time.Duration) {
	o.m.outRequests.WithLabelValues(conn, strconv.Itoa(status)).Inc()
	o.m.outDuration.WithLabelValues(conn).Observe(d.Seconds())
}

func (o OutboundObserver) Attempt(conn string, status int, d time.Duration) {
	o.m.outAttempts.WithLabelValues(conn, strconv.Itoa(status)).Inc()
	o.m.attemptDur.WithLabelValues(conn).Observe(d.Seconds())
}

func (o OutboundObserver) Retry(conn string) { o.m.outRetries.WithLabelValues(conn).Inc() }

func (o OutboundObserver) RateLimitWait(conn string) { o.m.rateWaits.WithLabelValues(conn).Inc() }
func (o OutboundObserver) RateLimited(conn string)   { o.m.rateRefusals.WithLabelValues(conn).Inc() }
func (o OutboundObserver) RateLimitLocal(conn string, local bool) {
	v := 0.0
	if local {
		v = 1
	}
	o.m.rateFallback.WithLabelValues(conn).Set(v)
}

func (o OutboundObserver) TokenRefresh(conn string, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	o.m.tokens.WithLabelValues(conn, result).Inc()
}

func (o OutboundObserver) CircuitState(conn, plugin, state string) {
	o.m.mu.Lock()
	defer o.m.mu.Unlock()
	key := conn + "\x00" + plugin
	if prev, ok := o.m.circuits[key]; ok {
		o.m.circuit.WithLabelValues(conn, plugin, prev).Set(0)
	}
	o.m.circuits[key] = state
	o.m.circuit.WithLabelValues(conn, plugin, state).Set(1)
}

// PluginState is one plugin as the plugin metrics show it.
type PluginState struct {
	Name, State string
	Restarts    int
}

// PluginStates is a collector of plugin state and restarts, read at each
// scrape.
type PluginStates struct {
	views    func() []PluginState
	states   []string
	state    *prometheus.Desc
	restarts *prometheus.Desc
}

// NewPluginStates returns the collector of the plugins views returns, each
// in one of states; register it next to New's.
func NewPluginStates(views func() []PluginState, states ...string) *PluginStates {
	return &PluginStates{
		views:    views,
		states:   states,
		state:    prometheus.NewDesc("switchboard_plugin_state", "1 for each plugin's current state (starting, serving, restarting, failed, refused).", []string{"plugin", "state"}, nil),
		restarts: prometheus.NewDesc("switchboard_plugin_restarts_total", "Restarts of each plugin after it exited or stopped answering.", []string{"plugin"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (p *PluginStates) Describe(ch chan<- *prometheus.Desc) {
	ch <- p.state
	ch <- p.restarts
}

// Collect implements prometheus.Collector.
func (p *PluginStates) Collect(ch chan<- prometheus.Metric) {
	for _, v := range p.views() {
		for _, s := range p.states {
			val := 0.0
			if v.State == s {
				val = 1
			}
			ch <- prometheus.MustNewConstMetric(p.state, prometheus.GaugeValue, val, v.Name, s)
		}
		ch <- prometheus.MustNewConstMetric(p.restarts, prometheus.CounterValue, float64(v.Restarts), v.Name)
	}
}

var _ prometheus.Collector = (*PluginStates)(nil)

// Host is a collector of what the host says of itself at each scrape:
// whether it is ready (GET /readyz), and each action's time budget, so
// that alerts can compare latencies with the budget.
type Host struct {
	ready   func() bool
	budgets func() map[string]time.Duration
	readyD  *prometheus.Desc
	budgetD *prometheus.Desc
}

// NewHost returns the collector; register it next to New's.
func NewHost(ready func() bool, budgets func() map[string]time.Duration) *Host {
	return &Host{
		ready: ready, budgets: budgets,
		readyD:  prometheus.NewDesc("switchboard_ready", "1 while the host answers GET /readyz with 200, else 0 (starting, a pinned plugin not serving, shutting down).", nil, nil),
		budgetD: prometheus.NewDesc("switchboard_action_timeout_seconds", "Each action's time budget.", []string{"action"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (h *Host) Describe(ch chan<- *prometheus.Desc) {
	ch <- h.readyD
	ch <- h.budgetD
}

// Collect implements prometheus.Collector.
func (h *Host) Collect(ch chan<- prometheus.Metric) {
	ready := 0.0
	if h.ready() {
		ready = 1
	}
	ch <- prometheus.MustNewConstMetric(h.readyD, prometheus.GaugeValue, ready)
	for action, d := range h.budgets() {
		ch <- prometheus.MustNewConstMetric(h.budgetD, prometheus.GaugeValue, d.Seconds(), action)
	}
}

var _ prometheus.Collector = (*Host)(nil)
