package outbound

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/google/uuid"
	"github.com/hashicorp/go-hclog"
	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"

	"github.com/switchboard-dev/switchboard/host/apierr"
	"github.com/switchboard-dev/switchboard/host/config"
)

// errRateLimited is the cause of a call that got no turn in time.
var errRateLimited = errors.New("rate limited")

// Shared makes rate limits hold across replicas: one GCRA bucket per
// connection in Redis (go-redis/redis_rate), and a count of the replicas
// alive, which sizes each one's local share while Redis fails.
type Shared struct {
	client  *redis.Client
	limiter *redis_rate.Limiter
	id      string
	logger  hclog.Logger

	replicas atomic.Int64 // alive, this one included; 1 until Redis says
}

// Presence: each replica renews its entry this often; entries older than
// presenceTTL are of replicas gone.
const (
	presenceEvery = 2 * time.Second
	presenceTTL   = 3 * presenceEvery
	presenceKey   = "switchboard:replicas"
	bucketPrefix  = "switchboard:rate:"
)

// NewShared returns shared limits on client.
func NewShared(client *redis.Client, logger hclog.Logger) *Shared {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	s := &Shared{client: client, limiter: redis_rate.NewLimiter(client), id: uuid.NewString(), logger: logger}
	s.replicas.Store(1)
	return s
}

// Run keeps this replica's presence in Redis and the count of replicas
// alive, until ctx is done.
func (s *Shared) Run(ctx context.Context) {
	t := time.NewTicker(presenceEvery)
	defer t.Stop()
	for {
		s.renew(ctx)
		select {
		case <-t.C:
		case <-ctx.Done():
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 200*time.Millisecond)
			s.client.ZRem(rctx, presenceKey, s.id) // leaving: the others take its share
			cancel()
			return
		}
	}
}

func (s *Shared) renew(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	now := time.Now()
	var card *redis.IntCmd
	_, err := s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZAdd(ctx, presenceKey, redis.Z{Score: float64(now.UnixMilli()), Member: s.id})
		p.ZRemRangeByScore(ctx, presenceKey, "-inf", fmt.Sprint(now.Add(-presenceTTL).UnixMilli()))
		card = p.ZCard(ctx, presenceKey)
		p.PExpire(ctx, presenceKey, presenceTTL)
		return nil
	})
	if err == nil {
		s.replicas.Store(max(card.Val(), 1))
	}
}

// Replicas is how many replicas share each limit, as last seen.
func (s *Shared) Replicas() int64 { return s.replicas.Load() }

// limiter gives a connection's downstream requests their turns.
type limiter struct {
	conn   string
	limit  config.RateLimit
	local  *rate.Limiter // the whole limit, without Redis
	shared *Shared       // nil: local only
	obs    Observer

	mu        sync.Mutex
	share     *rate.Limiter // this replica's share while Redis fails
	shareOf   int64         // the replica count share was sized for
	degraded  atomic.Bool
	reportMux sync.Mutex
}

func newLimiter(conn string, l *config.RateLimit, shared *Shared, obs Observer) *limiter {
	if l == nil {
		return nil
	}
	return &limiter{conn: conn, limit: *l, shared: shared, obs: obs,
		local: rate.NewLimiter(rate.Limit(float64(l.RequestsPerMinute)/60), l.Burst)}
}

// wait blocks until a request may go; a turn that would come after the
// call's deadline is refused at once: 429 rate_limited, with when to try
// again.
func (l *limiter) wait(ctx context.Context) error {
	if l == nil {
		return nil
	}
	if l.shared == nil {
		return l.waitLocal(ctx, l.local)
	}
	waited := false
	for {
		rctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		res, err := l.shared.limiter.Allow(rctx, bucketPrefix+l.conn, redis_rate.Limit{Rate: l.limit.RequestsPerMinute, Burst: l.limit.Burst, Period: time.Minute})
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			l.report(true, err)
			return l.waitLocal(ctx, l.localShare())
		}
		l.report(false, nil)
		if res.Allowed > 0 {
			return nil
		}
		if err := l.sleep(ctx, res.RetryAfter, &waited); err != nil {
			return err
		}
	}
}

// late reports whether a turn d from now leaves the call too little of its
// deadline to be sent and answered, and its refusal to reach the caller in
// time: a quarter of what remains, at least 300 ms, is kept for that.
func late(ctx context.Context, d time.Duration) bool {
	deadline, ok := ctx.Deadline()
	if !ok {
		return false
	}
	left := time.Until(deadline)
	return d > left-max(left/4, 300*time.Millisecond)
}

// waitLocal waits for a turn of lim.
func (l *limiter) waitLocal(ctx context.Context, lim *rate.Limiter) error {
	r := lim.Reserve()
	d := r.Delay()
	if d == 0 {
		return nil
	}
	if late(ctx, d) {
		r.Cancel()
		return l.refuse(d)
	}
	l.obs.RateLimitWait(l.conn)
	if err := pause(ctx, d); err != nil {
		r.Cancel()
		return err
	}
	return nil
}

// pause waits d, or until ctx is done.
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// sleep waits d for the shared bucket, unless that passes the deadline.
func (l *limiter) sleep(ctx context.Context, d time.Duration, waited *bool) error {
	if late(ctx, d) {
		return l.refuse(d)
	}
	if !*waited {
		*waited = true
		l.obs.RateLimitWait(l.conn)
	}
	return pause(ctx, d)
}

func (l *limiter) refuse(d time.Duration) error {
	l.obs.RateLimited(l.conn)
	e := apierr.Wrap(errRateLimited, http.StatusTooManyRequests, "rate_limited",
		"connection %q: no turn under its rate limit (%d a minute) within the call's deadline", l.conn, l.limit.RequestsPerMinute)
	e.RetryAfter = max(d, time.Second)
	e.Retryable = true
	return e
}

// localShare is this replica's part of the limit while Redis fails: the
// limit divided by the replicas Redis last counted, so that together they
// stay within it.
func (l *limiter) localShare() *rate.Limiter {
	n := l.shared.Replicas()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.share == nil || l.shareOf != n {
		per := float64(l.limit.RequestsPerMinute) / 60 / float64(n)
		l.share, l.shareOf = rate.NewLimiter(rate.Limit(per), max(1, l.limit.Burst/int(n))), n
	}
	return l.share
}

// report logs and counts each switch between the shared limit and the
// local share.
func (l *limiter) report(degraded bool, err error) {
	if l.degraded.Load() == degraded {
		return
	}
	l.reportMux.Lock()
	defer l.reportMux.Unlock()
	if l.degraded.Swap(degraded) == degraded {
		return
	}
	l.obs.RateLimitLocal(l.conn, degraded)
	if degraded {
		l.shared.logger.Error("shared rate limit unavailable: this replica keeps to its share", "connection", l.conn,
			"replicas", l.shared.Replicas(), "per_minute", l.limit.RequestsPerMinute/int(l.shared.Replicas()), "error", err)
	} else {
		l.shared.logger.Info("shared rate limit available again", "connection", l.conn)
	}
}
