package repo

import (
	"context"
	"encoding/hex"
	"log/slog"
	"sync"
	"time"

	"github.com/remy-crm/remy/model"
)

// keyChangesChannel is where migration 000006's trigger on api_keys
// announces, with the key's hash in hex, every change that matters to
// authentication (revocation, expiry, deletion, scopes…; not last_used_at).
const keyChangesChannel = "remy_api_keys"

// Key cache bounds. The TTL only matters if a notification is lost while
// the listener is up; while it is down nothing is served from the cache.
const (
	keyCacheTTL     = 10 * time.Second
	keyCacheMaxKeys = 10_000
)

// keyCache keeps authenticated keys in memory, so that a request costs no
// key lookup. It is only consulted while its LISTEN connection is up and
// was emptied when that connection (re)started, so a key revoked on any
// instance leaves every instance's cache as soon as Postgres delivers the
// notification (milliseconds), never later than the TTL.
type keyCache struct {
	mu      sync.Mutex
	live    bool
	gen     uint64 // bumped by every invalidation; see put
	entries map[[32]byte]*keyEntry
}

type keyEntry struct {
	key     *model.APIKey
	loaded  time.Time
	touched time.Time // last time last_used_at was written for this key
}

func newKeyCache() *keyCache { return &keyCache{entries: map[[32]byte]*keyEntry{}} }

// get returns the cached key and whether last_used_at is due a write.
func (c *keyCache) get(hash [32]byte, now time.Time) (k *model.APIKey, touch bool, gen uint64, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.live {
		return nil, false, c.gen, false
	}
	e := c.entries[hash]
	if e == nil || now.Sub(e.loaded) > keyCacheTTL {
		return nil, false, c.gen, false
	}
	if now.Sub(e.touched) > lastUsedResolution {
		e.touched, touch = now, true
	}
	return e.key, touch, c.gen, true
}

// put caches k unless an invalidation happened since gen was read: the
// row k was read from may be the one just revoked.
func (c *keyCache) put(hash [32]byte, k *model.APIKey, gen uint64, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.live || c.gen != gen {
		return
	}
	if len(c.entries) >= keyCacheMaxKeys {
		for h := range c.entries { // map order: a cheap random eviction
			delete(c.entries, h)
			break
		}
	}
	c.entries[hash] = &keyEntry{key: k, loaded: now, touched: now}
}

func (c *keyCache) drop(hash []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if len(hash) == 32 {
		delete(c.entries, [32]byte(hash))
	}
}

// setLive empties the cache and turns it on or off.
func (c *keyCache) setLive(live bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.live = live
	clear(c.entries)
}

// CacheKeys turns on the in-process key cache: until ctx ends it holds a
// connection of its own to dsn that LISTENs for key changes. Without it
// (the CLI, tests in one process) every request looks its key up. The
// cache is live only while that connection is: a change before LISTEN was
// not heard, and the cache starts empty; while the connection is down,
// the TTL bounds nothing because nothing is served from the cache.
func (r *KeyRepo) CacheKeys(ctx context.Context, dsn string, log *slog.Logger) error {
	r.cache = newKeyCache()
	return listener{
		channel: keyChangesChannel,
		off:     "API key cache off until its LISTEN connection is back",
		live:    r.cache.setLive,
		notify: func(payload string) {
			hash, _ := hex.DecodeString(payload)
			r.cache.drop(hash)
		},
	}.start(ctx, dsn, log)
}
