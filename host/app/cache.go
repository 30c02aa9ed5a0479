package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/redis/go-redis/v9"

	"github.com/switchboard-dev/switchboard/host/cache"
	"github.com/switchboard-dev/switchboard/host/config"
	"github.com/switchboard-dev/switchboard/host/jsonptr"
	"github.com/switchboard-dev/switchboard/host/metrics"
	"github.com/switchboard-dev/switchboard/host/pipeline"
	"github.com/switchboard-dev/switchboard/host/server"
)

// redisClient connects to the config's Redis, failing fast: a request
// never waits long on a Redis that does not answer (the cache steps aside,
// the rate limits fall back to their local share).
func redisClient(r *config.Redis) (*redis.Client, error) {
	opts := &redis.Options{
		Addr: r.Address, Username: r.Username, Password: r.Password, DB: r.DB,
		DialTimeout: 500 * time.Millisecond, ReadTimeout: 200 * time.Millisecond, WriteTimeout: 200 * time.Millisecond,
		PoolTimeout: 200 * time.Millisecond, MaxRetries: -1, DialerRetries: 1,
	}
	if t := r.TLS; t != nil {
		opts.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName}
		if opts.TLSConfig.ServerName == "" {
			opts.TLSConfig.ServerName, _, _ = net.SplitHostPort(r.Address)
		}
		if t.CAFile != "" {
			pem, err := os.ReadFile(t.CAFile)
			if err != nil {
				return nil, fmt.Errorf("cache redis tls: %w", err)
			}
			opts.TLSConfig.RootCAs = x509.NewCertPool()
			if !opts.TLSConfig.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("cache redis tls: %s holds no PEM certificate", t.CAFile)
			}
		}
	}
	return redis.NewClient(opts), nil
}

// newCache builds the config's cache store; without a cache block, a
// memory store of the default size, for the policies plugins suggest.
func (h *Host) newCache(cfg *config.Config) (*cache.Cache, error) {
	c := cfg.Cache
	if c == nil {
		c = &config.Cache{Store: config.CacheMemory, MaxBytes: config.DefaultCacheMaxBytes}
	}
	var store cache.Store
	switch c.Store {
	case config.CacheRedis:
		var err error
		if store, err = cache.NewRedis(h.redis, c.EncryptionKey); err != nil {
			return nil, err
		}
	default:
		m, err := cache.NewMemory(c.MaxBytes, h.Metrics.CacheEvicted)
		if err != nil {
			return nil, err
		}
		if err := metrics.RegisterCacheBytes(h.promReg, m.Bytes); err != nil {
			return nil, err
		}
		store = m
	}
	return cache.New(store, cache.Options{Observer: h.Metrics, Logger: h.Logger.Named("cache")}), nil
}

// redisLog sends go-redis's own messages (dial retries) to the host's log
// at debug level; the cache and the rate limits say at error level when
// Redis fails and when it is back.
type redisLog struct{ l hclog.Logger }

func (r redisLog) Printf(_ context.Context, format string, v ...any) {
	r.l.Debug(fmt.Sprintf(format, v...))
}

// cachePolicy is an action's cache block as the cache applies it.
func cachePolicy(ac *config.ActionCache) *cache.Policy {
	if ac == nil || ac.TTL == 0 {
		return nil
	}
	p := &cache.Policy{TTL: ac.TTL, StaleWhileRevalidate: ac.StaleWhileRevalidate, StaleIfError: ac.StaleIfError}
	for _, k := range ac.Key {
		if ptr, err := jsonptr.Parse(k); err == nil { // the config checked them
			p.Key = append(p.Key, ptr)
		}
	}
	return p
}

// PurgeCache removes an action's cached answers: all of them, or, with an
// input (the action's input object, after mapping) and an organization,
// that one. It returns how many went.
func (h *Host) PurgeCache(ctx context.Context, action string, input json.RawMessage, org string) (int, error) {
	a, ok := h.Registry.Current().Lookup(action)
	if !ok {
		return 0, server.ErrUnknownAction
	}
	if h.cache == nil || a.Cache == nil {
		return 0, fmt.Errorf("action %q is not cached", action)
	}
	key := ""
	if len(input) > 0 {
		in, err := pipeline.DecodeObject(input)
		if err != nil {
			return 0, fmt.Errorf("the input is not a JSON object: %w", err)
		}
		if key, err = cache.Key(a.Name, a.Contract, org, a.Cache, in); err != nil {
			return 0, err
		}
	}
	return h.cache.Purge(ctx, action, key)
}
