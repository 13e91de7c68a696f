package repo

import (
	"context"
	"errors"
	"strings"

	"github.com/uptrace/bun"

	"github.com/remy-crm/remy/model"
)

// AccountRepo stores accounts.
type AccountRepo struct{ db *bun.DB }

// Create adds an account. A taken email (in any letter case) is ErrConflict.
func (r *AccountRepo) Create(ctx context.Context, email, name string) (*model.Account, error) {
	a := &model.Account{Email: strings.TrimSpace(email), Name: strings.TrimSpace(name)}
	if _, err := r.db.NewInsert().Model(a).Returning("*").Exec(ctx); err != nil {
		err = interpretError(err)
		if errors.Is(err, model.ErrConflict) {
			return nil, model.ErrConflict
		}
		return nil, err
	}
	return a, nil
}

// ByEmail finds an account by email, ignoring letter case; ErrNotFound if none.
func (r *AccountRepo) ByEmail(ctx context.Context, email string) (*model.Account, error) {
	a := new(model.Account)
	err := r.db.NewSelect().Model(a).
		Where("lower(email) = lower(?)", strings.TrimSpace(email)).
		Scan(ctx)
	if err != nil {
		return nil, interpretError(err)
	}
	return a, nil
}
