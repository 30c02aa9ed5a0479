package config

import (
	"errors"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/switchboard-dev/switchboard/host/jsonptr"
)

// Cache is the response cache's store, once per host.
type Cache struct {
	Store    string // CacheMemory or CacheRedis
	MaxBytes uint64 // the memory store's bound
	Redis    *Redis // with CacheRedis
	// EncryptionKey seals entries in Redis (AES-256-GCM); an action that
	// caches a secure output there needs it.
	EncryptionKey string
}

// Cache stores.
const (
	CacheMemory = "memory"
	CacheRedis  = "redis"
)

// DefaultCacheMaxBytes is the memory store's bound when the config sets none.
const DefaultCacheMaxBytes = 64 << 20

// Redis is the Redis server the cache and the rate limits share.
type Redis struct {
	Address  string // host:port
	Username string
	Password string
	DB       int
	TLS      *RedisTLS // nil: plain TCP
}

// RedisTLS is TLS to Redis.
type RedisTLS struct {
	CAFile     string // "": the system's roots
	ServerName string // "": the address's host
}

// ActionCache is how an action's answers are cached.
type ActionCache struct {
	TTL                  time.Duration // 0: never cached, whatever the plugin suggests
	StaleWhileRevalidate time.Duration
	StaleIfError         time.Duration
	Key                  []string // JSON pointers into the input; nil: all of it
	AllowSecure          bool     // cache it although the plugin says secure
}

// MaxCacheTTL bounds ttl, stale_while_revalidate and stale_if_error.
const MaxCacheTTL = 24 * time.Hour

// RateLimit bounds a connection's calls, retries included.
type RateLimit struct {
	RequestsPerMinute int
	Burst             int
}

type cacheBlock struct {
	Store         *string     `hcl:"store,optional"`
	MaxBytes      *int64      `hcl:"max_bytes,optional"`
	EncryptionKey *string     `hcl:"encryption_key,optional"`
	Redis         *redisBlock `hcl:"redis,block"`
	Range         hcl.Range   `hcl:",def_range"`
}

type redisBlock struct {
	Address  string         `hcl:"address"`
	Username *string        `hcl:"username,optional"`
	Password *string        `hcl:"password,optional"`
	DB       *int           `hcl:"db,optional"`
	TLS      *redisTLSBlock `hcl:"tls,block"`
}

type redisTLSBlock struct {
	CAFile     *string `hcl:"ca_file,optional"`
	ServerName *string `hcl:"server_name,optional"`
}

type actionCache struct {
	TTL         durationAttr `hcl:"ttl"`
	SWR         durationAttr `hcl:"stale_while_revalidate,optional"`
	SIE         durationAttr `hcl:"stale_if_error,optional"`
	Key         []string     `hcl:"key,optional"`
	AllowSecure *bool        `hcl:"allow_secure,optional"`
	Range       hcl.Range    `hcl:",def_range"`
}

type rateLimitBlock struct {
	RequestsPerMinute int       `hcl:"requests_per_minute"`
	Burst             *int      `hcl:"burst,optional"`
	Range             hcl.Range `hcl:",def_range"`
}

// cache checks the host's cache block; nil when there is none.
func (b *cacheBlock) cache() (*Cache, error) {
	if b == nil {
		return nil, nil
	}
	var errs []error
	c := &Cache{Store: CacheMemory, MaxBytes: DefaultCacheMaxBytes}
	if b.Store != nil {
		c.Store = *b.Store
	}
	switch c.Store {
	case CacheMemory, CacheRedis:
	default:
		errs = append(errs, errAt(b.Range, "cache: store %q: use \"memory\" or \"redis\"", c.Store))
	}
	if b.MaxBytes != nil {
		if *b.MaxBytes < 1<<16 || *b.MaxBytes > 1<<40 {
			errs = append(errs, errAt(b.Range, "cache: max_bytes must be between 65536 and %d", int64(1)<<40))
		}
		c.MaxBytes = uint64(max(*b.MaxBytes, 0))
	}
	if b.EncryptionKey != nil {
		if len(*b.EncryptionKey) < 32 {
			errs = append(errs, errAt(b.Range, "cache: encryption_key must be at least 32 characters"))
		}
		c.EncryptionKey = *b.EncryptionKey
	}
	if r := b.Redis; r != nil {
		c.Redis = &Redis{Address: r.Address}
		setString(&c.Redis.Username, r.Username)
		setString(&c.Redis.Password, r.Password)
		if r.DB != nil {
			if *r.DB < 0 || *r.DB > 15 {
				errs = append(errs, errAt(b.Range, "cache: redis db must be between 0 and 15"))
			}
			c.Redis.DB = *r.DB
		}
		if r.TLS != nil {
			c.Redis.TLS = &RedisTLS{}
			setString(&c.Redis.TLS.CAFile, r.TLS.CAFile)
			setString(&c.Redis.TLS.ServerName, r.TLS.ServerName)
		}
	}
	if c.Store == CacheRedis && c.Redis == nil {
		errs = append(errs, errAt(b.Range, "cache: store \"redis\" needs a redis { address = \"host:port\" } block"))
	}
	return c, errors.Join(errs...)
}

// cache checks an action's cache block; nil when there is none.
func (b *actionCache) cache(action string) (*ActionCache, error) {
	if b == nil {
		return nil, nil
	}
	var errs []error
	c := &ActionCache{Key: b.Key}
	if b.TTL == nil {
		errs = append(errs, errAt(b.Range, "action %q: cache: the argument \"ttl\" is required", action))
	}
	for _, d := range []struct {
		dst  *time.Duration
		src  durationAttr
		name string
		lo   time.Duration
	}{{&c.TTL, b.TTL, "ttl", 0}, {&c.StaleWhileRevalidate, b.SWR, "stale_while_revalidate", 0}, {&c.StaleIfError, b.SIE, "stale_if_error", 0}} {
		if err := parseDuration(d.dst, d.src, d.name, d.lo, MaxCacheTTL); err != nil {
			errs = append(errs, errAt(b.Range, "action %q: cache: %v", action, err))
		}
	}
	for _, p := range b.Key {
		if _, err := jsonptr.Parse(p); err != nil || p == "" {
			errs = append(errs, errAt(b.Range, "action %q: cache: key %q: name a member of the input, e.g. \"/userId\"", action, p))
		}
	}
	if b.Key != nil && len(b.Key) == 0 {
		errs = append(errs, errAt(b.Range, "action %q: cache: key = []: name at least one member, or leave key out to key on the whole input", action))
	}
	if b.AllowSecure != nil {
		c.AllowSecure = *b.AllowSecure
	}
	return c, errors.Join(errs...)
}

// rateLimit checks a connection's rate_limit block.
func (b *rateLimitBlock) rateLimit(conn string) (*RateLimit, error) {
	if b == nil {
		return nil, nil
	}
	r := &RateLimit{RequestsPerMinute: b.RequestsPerMinute, Burst: max(1, b.RequestsPerMinute/60)}
	var errs []error
	if r.RequestsPerMinute < 1 || r.RequestsPerMinute > 1_000_000 {
		errs = append(errs, errAt(b.Range, "connection %q: rate_limit: requests_per_minute must be between 1 and 1000000", conn))
	}
	if b.Burst != nil {
		if *b.Burst < 1 || *b.Burst > 100_000 {
			errs = append(errs, errAt(b.Range, "connection %q: rate_limit: burst must be between 1 and 100000", conn))
		}
		r.Burst = *b.Burst
	}
	return r, errors.Join(errs...)
}
