package repo

import (
	"context"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/remy-crm/remy/model"
)

// TagRepo lists the tags of an account. Tags live on contacts (the contact
// resource manages them); this only reads them.
type TagRepo struct{ db *bun.DB }

type tagRow struct {
	Name  string `bun:"name"`
	Count int    `bun:"count"`
	Total int    `bun:"total"`
}

// List returns one page of the account's tags, by name, each with how many
// contacts carry it, and how many tags there are. It reads tag_counts, which
// triggers keep in the transaction of every contact write (migration
// 000005), so it is exact and costs a range of that table, not a pass over
// the account's contacts. A tag no contact carries any more sums to zero.
func (r *TagRepo) List(ctx context.Context, accountID uuid.UUID, p model.ListParams) (model.Page[model.Tag], error) {
	tags := r.db.NewSelect().TableExpr("tag_counts").
		ColumnExpr("tag AS name, sum(n) AS count").
		Where("account_id = ?", accountID).
		GroupExpr("tag").
		Having("sum(n) > 0")
	var rows []tagRow
	err := r.db.NewSelect().With("tags", tags).TableExpr("tags").
		ColumnExpr("name, count, count(*) OVER () AS total").
		OrderExpr("name").
		Limit(int64(p.Limit)).Offset(int64(p.Offset)).
		Scan(ctx, &rows)
	if err != nil {
		return model.Page[model.Tag]{}, interpretError(err)
	}
	page := model.Page[model.Tag]{Items: make([]model.Tag, len(rows))}
	for i, row := range rows {
		page.Items[i], page.Total = model.Tag{Name: row.Name, Count: row.Count}, row.Total
	}
	if len(rows) == 0 && p.Offset > 0 {
		// Past the end: no row carried the total.
		if err := r.db.NewSelect().With("tags", tags).TableExpr("tags").ColumnExpr("count(*)").Scan(ctx, &page.Total); err != nil {
			return model.Page[model.Tag]{}, interpretError(err)
		}
	}
	return page, nil
}
