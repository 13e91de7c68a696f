package repo

import (
	"context"

	"github.com/google/uuid"

	"github.com/remy-crm/remy/model"
)

// ByID returns a key, revoked or not; ErrNotFound if there is no such key.
// The CLI reads it before revoking, to tell "already revoked" apart.
func (r *KeyRepo) ByID(ctx context.Context, id uuid.UUID) (*model.APIKey, error) {
	k := new(model.APIKey)
	if err := r.db.NewSelect().Model(k).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, interpretError(err)
	}
	return k, nil
}
