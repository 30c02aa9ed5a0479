package cache

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is the store replicas share. Entries are sealed with AES-256-GCM
// when a key is configured (bound to their Redis key, so that one cannot
// be moved under another), else stored as they are.
type Redis struct {
	client *redis.Client
	ns     string // key namespace
	aead   cipher.AEAD
}

// Entry formats: a version byte, the stored time, then the output (plain)
// or nonce and sealed output.
const (
	formatPlain  = 1
	formatSealed = 2
)

// NewRedis returns a store on client; encryptionKey, when not empty, seals
// every entry (a key derived from it by SHA-256).
func NewRedis(client *redis.Client, encryptionKey string) (*Redis, error) {
	r := &Redis{client: client, ns: "switchboard:cache:v1:"}
	if encryptionKey != "" {
		k := sha256.Sum256([]byte("switchboard cache entries\x00" + encryptionKey))
		block, err := aes.NewCipher(k[:])
		if err != nil {
			return nil, err
		}
		if r.aead, err = cipher.NewGCM(block); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func (r *Redis) Name() string { return "redis" }

// Sealed reports whether entries are encrypted.
func (r *Redis) Sealed() bool { return r.aead != nil }

func (r *Redis) Get(ctx context.Context, key string) (Entry, bool, error) {
	b, err := r.client.Get(ctx, r.ns+key).Bytes()
	if errors.Is(err, redis.Nil) {
		return Entry{}, false, nil
	}
	if err != nil {
		return Entry{}, false, err
	}
	e, err := r.open(r.ns+key, b)
	if err != nil {
		// Not ours, or tampered with: a miss, which the next fill replaces.
		return Entry{}, false, nil
	}
	return e, true, nil
}

func (r *Redis) Set(ctx context.Context, key string, e Entry, lifetime time.Duration) error {
	return r.client.Set(ctx, r.ns+key, r.seal(r.ns+key, e), lifetime).Err()
}

func (r *Redis) Delete(ctx context.Context, key string) error {
	return r.client.Del(ctx, r.ns+key).Err()
}

func (r *Redis) Purge(ctx context.Context, prefix string) (int, error) {
	n := 0
	it := r.client.Scan(ctx, 0, globEscape(r.ns+prefix)+"*", 500).Iterator()
	var batch []string
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		d, err := r.client.Unlink(ctx, batch...).Result()
		n += int(d)
		batch = batch[:0]
		return err
	}
	for it.Next(ctx) {
		if batch = append(batch, it.Val()); len(batch) == 500 {
			if err := flush(); err != nil {
				return n, err
			}
		}
	}
	if err := it.Err(); err != nil {
		return n, err
	}
	return n, flush()
}

func (r *Redis) seal(key string, e Entry) []byte {
	head := make([]byte, 9, 9+len(e.Output)+64)
	binary.BigEndian.PutUint64(head[1:], uint64(e.Stored.UnixNano()))
	if r.aead == nil {
		head[0] = formatPlain
		return append(head, e.Output...)
	}
	head[0] = formatSealed
	nonce := make([]byte, r.aead.NonceSize())
	rand.Read(nonce)
	out := append(head, nonce...)
	return r.aead.Seal(out, nonce, e.Output, append([]byte(key), head...))
}

var errEntry = errors.New("not a cache entry of this host")

func (r *Redis) open(key string, b []byte) (Entry, error) {
	if len(b) < 9 {
		return Entry{}, errEntry
	}
	e := Entry{Stored: time.Unix(0, int64(binary.BigEndian.Uint64(b[1:9])))}
	switch {
	case b[0] == formatPlain && r.aead == nil:
		e.Output = b[9:]
	case b[0] == formatSealed && r.aead != nil:
		ns := r.aead.NonceSize()
		if len(b) < 9+ns {
			return Entry{}, errEntry
		}
		out, err := r.aead.Open(nil, b[9:9+ns], b[9+ns:], append([]byte(key), b[:9]...))
		if err != nil {
			return Entry{}, errEntry
		}
		e.Output = out
	default:
		return Entry{}, errEntry // sealed and plain never read each other
	}
	return e, nil
}

// globEscape quotes SCAN MATCH's special characters.
func globEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`, `]`, `\]`).Replace(s)
}
