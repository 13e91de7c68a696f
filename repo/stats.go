package repo

import (
	"context"
	"math/bits"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// The planner's statistics decide how every search runs: an account they
// do not know of is taken for a handful of contacts, and filtered row by
// row instead of through contacts_find_idx (README, Finding contacts). They
// are refreshed when an account grows a lot: after a bulk write
// (AfterBulkWrite) and each time an account's contacts, written one by one,
// double past analyzeAtLeast. autovacuum refreshes them too, but only once
// a tenth of the whole table has changed, and at most once a minute.

// analyzeAtLeast is the smallest account size, and bulk write, that
// refreshes the statistics: below it, a wrong estimate of the account's size
// cannot choose a plan slow enough to matter.
const analyzeAtLeast = 1000

// AfterBulkWrite makes contacts searchable at full speed right after a bulk
// write (an import) of written contacts into accountID's book has
// committed; call it then, outside the write's transaction. It returns an
// error if the database refused (both steps need the table's owner, or the
// MAINTAIN privilege); the contacts are stored and searchable either way.
//
// Without it, the first minute or so after a bulk write (until autovacuum's
// visit) searches took 10× their time:
//
//   - GIN pending lists: the new rows' index entries wait, unsorted, in a
//     list every search reads whole. gin_clean_pending_list merges them now
//     (and brin_summarize_new_values gives updatedSince the new blocks'
//     ranges, which it would otherwise read whole).
//   - Statistics: the planner had none for the new rows, took a 100,000
//     contact account for a small one, and filtered all of it row by row
//     instead of using the search index. ANALYZE samples the table (30,000
//     rows whatever its size), when the write is at least a tenth of the
//     account: a smaller one leaves the estimates close enough.
//
// VACUUM is not needed: no search reads an index-only path that depends on
// the visibility map.
func (r *ContactRepo) AfterBulkWrite(ctx context.Context, accountID uuid.UUID, written int) error {
	_, err := r.db.ExecContext(ctx, `SELECT CASE am.amname WHEN 'gin' THEN gin_clean_pending_list(i.indexrelid)
		ELSE brin_summarize_new_values(i.indexrelid) END
		FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid JOIN pg_am AS am ON am.oid = c.relam
		WHERE i.indrelid = 'contacts'::regclass AND am.amname IN ('gin', 'brin')`)
	if err != nil || written < analyzeAtLeast {
		return interpretError(err)
	}
	var contacts int64
	err = r.db.NewSelect().TableExpr("contact_counts").ColumnExpr("coalesce(sum(n), 0)").
		Where("account_id = ?", accountID).Scan(ctx, &contacts)
	if err != nil {
		return interpretError(err)
	}
	if int64(written)*10 < contacts {
		return nil
	}
	_, err = r.db.ExecContext(ctx, "ANALYZE contacts")
	return interpretError(err)
}

// statsRefresh runs ANALYZE contacts in the background when an account,
// written one contact at a time, has doubled: at most one at a time, and
// one more after it if another account doubled meanwhile.
type statsRefresh struct {
	db             *bun.DB
	mu             sync.Mutex
	running, again bool
}

// analyzeTimeout bounds a background ANALYZE (it samples 30,000 rows).
const analyzeTimeout = time.Minute

// doubled reports whether an account that went from before to after
// contacts passed analyzeAtLeast, or twice, four times… as many.
func doubled(before, after int64) bool {
	return after >= analyzeAtLeast && bits.Len64(uint64(before/analyzeAtLeast)) < bits.Len64(uint64(after/analyzeAtLeast))
}

// grown notes that an account went from before to after contacts.
func (s *statsRefresh) grown(before, after int64) {
	if !doubled(before, after) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running {
		s.again = true
		return
	}
	s.running = true
	go s.run()
}

func (s *statsRefresh) run() {
	for {
		ctx, cancel := context.WithTimeout(context.Background(), analyzeTimeout)
		// Best effort: if it fails (a closed pool, no privilege), autovacuum
		// still comes.
		_, _ = s.db.ExecContext(ctx, "ANALYZE contacts")
		cancel()
		s.mu.Lock()
		if !s.again {
			s.running = false
			s.mu.Unlock()
			return
		}
		s.again = false
		s.mu.Unlock()
	}
}
