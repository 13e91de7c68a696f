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
// contacts carry it, and how many tags there are. The tags are read from
// contacts_search_cover_idx (account_id) INCLUDE (.., tags), an index-only
// scan of the account's entries, not its heap.
func (r *TagRepo) List(ctx context.Context, accountID uuid.UUID, p model.ListParams) (model.Page[model.Tag], error) {
	tags := r.db.NewSelect().
		TableExpr("contacts AS c").
		TableExpr("unnest(c.tags) AS t(name)").
		Where("c.account_id = ?", accountID)
	var rows []tagRow
	err := r.db.NewSelect().
		With("tags", tags.ColumnExpr("t.name").ColumnExpr("count(*) AS count").GroupExpr("t.name")).
		TableExpr("tags").
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
		err = r.db.NewSelect().
			TableExpr("contacts AS c").
			TableExpr("unnest(c.tags) AS t(name)").
			ColumnExpr("count(DISTINCT t.name)").
			Where("c.account_id = ?", accountID).
			Scan(ctx, &page.Total)
		if err != nil {
			return model.Page[model.Tag]{}, interpretError(err)
		}
	}
	return page, nil
}
