package repo

import (
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/remy-crm/remy/model"
)

func TestKeyCache(t *testing.T) {
	t.Parallel()
	now := time.Now()
	h := [32]byte{1}
	k := &model.APIKey{ID: uuid.New()}

	t.Run("OffUntilLive", func(t *testing.T) {
		c := newKeyCache()
		_, _, gen, _ := c.get(h, now)
		c.put(h, k, gen, now)
		if _, _, _, ok := c.get(h, now); ok {
			t.Fatal("served while not listening")
		}
	})
	t.Run("HitThenTTL", func(t *testing.T) {
		c := newKeyCache()
		c.setLive(true)
		_, _, gen, _ := c.get(h, now)
		c.put(h, k, gen, now)
		if got, touch, _, ok := c.get(h, now.Add(time.Second)); !ok || got != k || touch {
			t.Fatalf("get = %v, %v, %v", got, touch, ok)
		}
		if _, touch, _, ok := c.get(h, now.Add(keyCacheTTL-time.Millisecond)); !ok || touch {
			t.Fatalf("within TTL: ok %v touch %v", ok, touch)
		}
		if _, _, _, ok := c.get(h, now.Add(keyCacheTTL+time.Millisecond)); ok {
			t.Fatal("served past its TTL")
		}
	})
	t.Run("DropWinsOverARacingLookup", func(t *testing.T) {
		c := newKeyCache()
		c.setLive(true)
		_, _, gen, _ := c.get(h, now) // a lookup starts…
		c.drop(h[:])                  // …the key is revoked meanwhile…
		c.put(h, k, gen, now)         // …and the stale row must not be cached
		if _, _, _, ok := c.get(h, now); ok {
			t.Fatal("stale key cached after an invalidation")
		}
	})
	t.Run("Bounded", func(t *testing.T) {
		c := newKeyCache()
		c.setLive(true)
		for i := range keyCacheMaxKeys + 10 {
			var hh [32]byte
			hh[0], hh[1], hh[2] = byte(i), byte(i>>8), byte(i>>16)
			_, _, gen, _ := c.get(hh, now)
			c.put(hh, k, gen, now)
		}
		if n := len(c.entries); n > keyCacheMaxKeys {
			t.Fatalf("%d entries", n)
		}
	})
	t.Run("Concurrent", func(t *testing.T) {
		c := newKeyCache()
		c.setLive(true)
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				for j := range 1000 {
					_, _, gen, ok := c.get(h, now)
					if !ok {
						c.put(h, k, gen, now)
					}
					if (i+j)%97 == 0 {
						c.drop(h[:])
					}
				}
			})
		}
		wg.Wait()
	})
}
