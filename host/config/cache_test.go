package config

import (
	"strings"
	"testing"
	"time"
)

func TestCacheAndRateLimitBlocks(t *testing.T) {
	t.Setenv("SB_REDIS_PASSWORD", "redis-password-0123456789")
	c, err := Parse("t.hcl", []byte(`
cache {
  store          = "redis"
  max_bytes      = 67108864
  encryption_key = "an-encryption-key-0123456789abcdef"
  redis {
    address  = "127.0.0.1:6379"
    password = env("SB_REDIS_PASSWORD")
  }
}
action "fetchUserProfile" {
  cache {
    ttl                    = "5m"
    stale_while_revalidate = "1m"
    stale_if_error         = "10m"
    key                    = ["/userId"]
    allow_secure           = true
  }
}
connection "genesys" {
  region = "mypurecloud.ie"
  rate_limit {
    requests_per_minute = 300
    burst               = 20
  }
}
connection "crm" {
  base_url = "https://crm.example.com"
  rate_limit {
    requests_per_minute = 600
  }
}
`))
	if err != nil {
		t.Fatal(err)
	}
	if ch := c.Cache; ch == nil || ch.Store != CacheRedis || ch.MaxBytes != 64<<20 || ch.Redis.Address != "127.0.0.1:6379" || ch.Redis.Password != "redis-password-0123456789" {
		t.Errorf("cache %+v", c.Cache)
	}
	if a := c.Actions["fetchUserProfile"].Cache; a == nil || a.TTL != 5*time.Minute || a.StaleWhileRevalidate != time.Minute || a.StaleIfError != 10*time.Minute || len(a.Key) != 1 || !a.AllowSecure {
		t.Errorf("action cache %+v", a)
	}
	if r := c.Connections["genesys"].RateLimit; r == nil || r.RequestsPerMinute != 300 || r.Burst != 20 {
		t.Errorf("rate limit %+v", r)
	}
	if r := c.Connections["crm"].RateLimit; r.Burst != 10 {
		t.Errorf("default burst %d, want a second's worth (10)", r.Burst)
	}
	if red := c.Settings().Redacted(); red["cache.redis.password"] != Redacted || red["cache.encryption_key"] != Redacted {
		t.Errorf("the cache's secrets show: %q %q", red["cache.redis.password"], red["cache.encryption_key"])
	}

	onlyAction, err := Parse("t.hcl", []byte("action \"a\" {\n  cache {\n    ttl = \"1m\"\n  }\n}\n"))
	if err != nil || onlyAction.Cache == nil || onlyAction.Cache.Store != CacheMemory {
		t.Errorf("an action cache without a cache block: %+v %v", onlyAction.Cache, err)
	}

	for name, tc := range map[string]struct{ src, want string }{
		"store":         {"cache {\n  store = \"disk\"\n}\n", `store "disk"`},
		"redis block":   {"cache {\n  store = \"redis\"\n}\n", "needs a redis"},
		"short key":     {"cache {\n  encryption_key = \"short\"\n}\n", "at least 32"},
		"no ttl":        {"action \"a\" {\n  cache {\n  }\n}\n", `"ttl" is required`},
		"long ttl":      {"action \"a\" {\n  cache {\n    ttl = \"48h\"\n  }\n}\n", "ttl"},
		"bad key":       {"action \"a\" {\n  cache {\n    ttl = \"1m\"\n    key = [\"userId\"]\n  }\n}\n", `key "userId"`},
		"secure clear":  {"cache {\n  store = \"redis\"\n  redis {\n    address = \"r:6379\"\n  }\n}\naction \"a\" {\n  cache {\n    ttl = \"1m\"\n    allow_secure = true\n  }\n}\n", "needs cache { encryption_key"},
		"rate":          {"connection \"c\" {\n  base_url = \"https://c.example.com\"\n  rate_limit {\n    requests_per_minute = 0\n  }\n}\n", "requests_per_minute"},
		"unknown field": {"action \"a\" {\n  cache {\n    ttl = \"1m\"\n    ttl_seconds = 3\n  }\n}\n", "ttl_seconds"},
	} {
		if _, err := Parse("t.hcl", []byte(tc.src)); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "t.hcl:") {
			t.Errorf("%s: %v, want an error at t.hcl with %q", name, err, tc.want)
		}
	}
}
