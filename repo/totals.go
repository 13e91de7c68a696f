package repo

import (
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/remy-crm/remy/model"
)

// totals remembers, per process, the exact total of each filtered list it
// has counted, with the account's write count at that moment (migration
// 000011). A list sends the pair it remembers, and its statement takes the
// total from it when the write count it reads in its own snapshot is the
// same, and counts otherwise: the total stays exact (every write to an
// account's contacts moves its write count, in the writing transaction),
// and a broad search paged through, or run again, is counted once instead
// of once per request. Another instance's writes move the same count, so
// what one instance remembers is never wrong after another writes.
type totals struct {
	mu sync.Mutex
	m  map[string]countedTotal
}

// countedTotal is a filter's total and the write count it was counted at.
type countedTotal struct{ writes, total int64 }

// maxTotals bounds the memory: ~100 bytes a filter.
const maxTotals = 10_000

func newTotals() *totals { return &totals{m: map[string]countedTotal{}} }

// get is the total remembered for key; writes is -1 (no write count is)
// when there is none. A nil *totals remembers nothing.
func (t *totals) get(key string) countedTotal {
	if t == nil {
		return countedTotal{writes: -1}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if ct, ok := t.m[key]; ok {
		return ct
	}
	return countedTotal{writes: -1}
}

func (t *totals) put(key string, ct countedTotal) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.m[key]; !ok && len(t.m) >= maxTotals {
		for k := range t.m { // an arbitrary tenth goes: Go's map order is random
			delete(t.m, k)
			if len(t.m) < maxTotals*9/10 {
				break
			}
		}
	}
	t.m[key] = ct
}

// totalKey names what f's total depends on: the account and the filters,
// not the order or the page.
func totalKey(accountID uuid.UUID, f model.ContactFilter) string {
	var b strings.Builder
	b.WriteString(accountID.String())
	for _, part := range [][]string{f.Terms, f.Tags} {
		b.WriteByte(0)
		b.WriteString(strings.Join(part, "\x01"))
	}
	b.WriteByte(0)
	if f.IntroducedByID != uuid.Nil {
		b.WriteString(f.IntroducedByID.String())
	}
	b.WriteByte(0)
	if !f.UpdatedSince.IsZero() {
		b.WriteString(f.UpdatedSince.UTC().Format(time.RFC3339Nano))
	}
	return b.String()
}
