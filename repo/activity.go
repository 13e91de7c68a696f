package repo

import (
	"context"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/remy-crm/remy/model"
)

// ActivityRepo reads the Activity Log. Entries are written by the other
// repositories, inside the transaction of the change they record.
type ActivityRepo struct{ db *bun.DB }

type activityRow struct {
	model.Activity `bun:",extend"`
	Total          int `bun:"total,scanonly"`
}

func (r activityRow) item() model.Activity { return r.Activity }
func (r activityRow) total() int           { return r.Total }

// List returns one page of the account's entries, newest first (id breaks
// ties), and the count of all that match the filter. With Since set the
// query is a range scan of activity_log_account_idx, so polling stays cheap
// however long the log grows.
func (r *ActivityRepo) List(ctx context.Context, accountID uuid.UUID, f model.ActivityFilter) (model.Page[model.Activity], error) {
	return listPage[model.Activity, activityRow](ctx, r.db, f.ListParams, func(q *bun.SelectQuery) *bun.SelectQuery {
		q = q.Where("?TableAlias.account_id = ?", accountID)
		if !f.Since.IsZero() {
			q = q.Where("?TableAlias.created_at >= ?", f.Since)
		}
		if f.ResourceID != uuid.Nil {
			q = q.Where("?TableAlias.resource_id = ?", f.ResourceID)
		}
		return q
	}, nil)
}
