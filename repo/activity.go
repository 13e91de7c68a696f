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

func logActivity(ctx context.Context, db bun.IDB, a *model.Activity) error {
	_, err := db.NewInsert().Model(a).Returning("id, created_at").Exec(ctx)
	return err
}

type activityWithTotal struct {
	model.Activity `bun:",extend"`
	Total          int `bun:"total,scanonly"`
}

// List returns one page of the account's entries, newest first (id breaks
// ties), and the count of all that match the filter. With Since set the
// query is a range scan of activity_log_account_idx, so polling stays cheap
// however long the log grows.
func (r *ActivityRepo) List(ctx context.Context, accountID uuid.UUID, f model.ActivityFilter) (model.Page[model.Activity], error) {
	filter := func(q *bun.SelectQuery) *bun.SelectQuery {
		q = q.Where("account_id = ?", accountID)
		if !f.Since.IsZero() {
			q = q.Where("created_at >= ?", f.Since)
		}
		if f.ResourceID != uuid.Nil {
			q = q.Where("resource_id = ?", f.ResourceID)
		}
		return q
	}
	var rows []activityWithTotal
	err := r.db.NewSelect().Model(&rows).
		ColumnExpr("*").
		ColumnExpr("count(*) OVER () AS total").
		Apply(filter).
		OrderExpr("created_at DESC, id DESC").
		Limit(int64(f.Limit)).Offset(int64(f.Offset)).
		Scan(ctx)
	if err != nil {
		return model.Page[model.Activity]{}, interpretError(err)
	}
	page := model.Page[model.Activity]{Items: make([]model.Activity, len(rows))}
	for i := range rows {
		page.Items[i] = rows[i].Activity
		page.Total = rows[i].Total
	}
	if len(rows) == 0 && f.Offset > 0 {
		n, err := r.db.NewSelect().Model((*model.Activity)(nil)).Apply(filter).Count(ctx)
		if err != nil {
			return model.Page[model.Activity]{}, interpretError(err)
		}
		page.Total = int(n)
	}
	return page, nil
}
