package repo

import (
	"context"

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
