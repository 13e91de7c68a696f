package repo

import (
	"context"
	"database/sql"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/remy-crm/remy/model"
)

// duplicateColumns are the columns of model.DuplicateFields.
var duplicateColumns = func() []string {
	cols := make([]string, len(model.DuplicateFields))
	for i, name := range model.DuplicateFields {
		f, ok := model.ContactFields.ByJSON(name)
		if !ok {
			panic("repo: model.DuplicateFields names no contact field " + name)
		}
		cols[i] = f.Column
	}
	return cols
}()

// Duplicates returns one page of the account's groups of possible
// duplicates (model.GroupDuplicates, in its order) and how many groups there
// are. The keys are computed in Go, over the compared columns of every
// contact of the account: phone numbers are parsed with libphonenumber and
// names folded with Unicode tables that SQL does not have, and one
// definition of "the same" must serve import, duplicates and merge alike.
// The page's contacts are then read whole, in the same snapshot.
func (r *ContactRepo) Duplicates(ctx context.Context, accountID uuid.UUID, p model.ListParams) (model.Page[model.DuplicateGroup], error) {
	var page model.Page[model.DuplicateGroup]
	opts := &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
	err := r.db.RunInTx(ctx, opts, func(ctx context.Context, tx bun.Tx) error {
		var keys []model.Contact
		err := tx.NewSelect().Model(&keys).Column(duplicateColumns...).
			Where("account_id = ?", accountID).
			OrderExpr("created_at, id").
			Scan(ctx)
		if err != nil {
			return err
		}
		groups := model.GroupDuplicates(keys, r.phoneKeys)
		page.Total = len(groups)
		page.Items = append([]model.DuplicateGroup{}, groups[min(p.Offset, len(groups)):min(p.Offset+p.Limit, len(groups))]...)
		return fillGroups(ctx, tx, accountID, page.Items)
	})
	if err != nil {
		return model.Page[model.DuplicateGroup]{}, interpretError(err)
	}
	return page, nil
}

// fillGroups replaces the partial contacts of groups with whole ones.
func fillGroups(ctx context.Context, tx bun.Tx, accountID uuid.UUID, groups []model.DuplicateGroup) error {
	var ids []uuid.UUID
	for _, g := range groups {
		for _, c := range g.Contacts {
			ids = append(ids, c.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	var whole []model.Contact
	if err := tx.NewSelect().Model(&whole).Where("account_id = ? AND id IN (?)", accountID, bun.List(ids)).Scan(ctx); err != nil {
		return err
	}
	byID := make(map[uuid.UUID]*model.Contact, len(whole))
	for i := range whole {
		byID[whole[i].ID] = &whole[i]
	}
	for _, g := range groups {
		for i, c := range g.Contacts {
			g.Contacts[i] = *byID[c.ID] // the same snapshot: every one is there
		}
	}
	return nil
}
