package repo

import (
	"context"

	"github.com/google/uuid"
)

// analyzeAtLeast is the smallest bulk write after which AfterBulkWrite
// refreshes the planner's statistics: below it, a wrong estimate of the
// account's size cannot choose a plan slow enough to matter.
const analyzeAtLeast = 1000

// AfterBulkWrite makes contacts searchable at full speed right after a bulk
// write (an import) of written contacts into accountID's book has
// committed; call it then, outside the write's transaction. It returns an
// error if the database refused (both steps need the table's owner, or the
// MAINTAIN privilege); the contacts are stored and searchable either way.
//
// Without it, the first minute or so after a bulk write (until autovacuum's
// visit) searches took 10× their time (README, Finding contacts):
//
//   - GIN pending lists: the new rows' index entries wait, unsorted, in a
//     list every search reads whole. gin_clean_pending_list merges them now
//     (and brin_summarize_new_values gives updatedSince the new blocks'
//     ranges, which it would otherwise read whole).
//   - Statistics: the planner had none for the new rows, took a 100,000
//     contact account for a small one, and filtered all of it row by row
//     instead of using the search indexes. ANALYZE samples the table
//     (30,000 rows whatever its size), when the write is at least a tenth of
//     the account: a smaller one leaves the estimates close enough.
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
