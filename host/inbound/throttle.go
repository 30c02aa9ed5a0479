package inbound

import (
	"net"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/time/rate"
)

// Throttle slows callers that fail to authenticate, so that credentials
// cannot be guessed at line speed: an address may fail Burst times, then
// once every Every; until it may try again, its requests are refused (429)
// before their credentials are looked at. Callers that authenticate are
// never slowed. IPv6 addresses count by their /64, which one attacker
// holds whole.
//
// Libraries: golang.org/x/time/rate is the token bucket of each address;
// github.com/hashicorp/golang-lru/v2 bounds how many addresses are kept,
// so that a flood of addresses cannot grow it.
type Throttle struct {
	every time.Duration
	burst int
	now   func() time.Time
	addrs *lru.Cache[string, *rate.Limiter]
}

// Failure throttle defaults: ten failures, then one every two seconds.
const (
	DefaultFailureBurst = 10
	DefaultFailureEvery = 2 * time.Second
	throttledAddresses  = 1 << 16
)

// NewThrottle returns a throttle; zero values mean the defaults, now nil
// means time.Now.
func NewThrottle(every time.Duration, burst int, now func() time.Time) *Throttle {
	if every <= 0 {
		every = DefaultFailureEvery
	}
	if burst <= 0 {
		burst = DefaultFailureBurst
	}
	if now == nil {
		now = time.Now
	}
	addrs, _ := lru.New[string, *rate.Limiter](throttledAddresses)
	return &Throttle{every: every, burst: burst, now: now, addrs: addrs}
}

// Wait is how long the address must wait before it may try again; 0 when
// it may now.
func (t *Throttle) Wait(addr string) time.Duration {
	lim, ok := t.addrs.Get(key(addr))
	if !ok {
		return 0
	}
	tokens := lim.TokensAt(t.now())
	if tokens >= 1 {
		return 0
	}
	return time.Duration((1 - tokens) * float64(t.every))
}

// Failed records a failed authentication from the address.
func (t *Throttle) Failed(addr string) {
	lim := rate.NewLimiter(rate.Every(t.every), t.burst)
	if prev, found, _ := t.addrs.PeekOrAdd(key(addr), lim); found {
		lim = prev
	}
	lim.AllowN(t.now(), 1)
}

// key is the address the throttle counts: the IP itself, or for IPv6 its /64.
func key(addr string) string {
	ip := net.ParseIP(addr)
	if ip == nil || ip.To4() != nil {
		return addr
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}
