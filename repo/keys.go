package repo

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/remy-crm/remy/model"
)

// KeyRepo stores API keys (their hashes) and authenticates requests.
type KeyRepo struct{ db *bun.DB }

// lastUsedResolution bounds how often a key's last_used_at is written, so
// that reads do not all turn into writes.
const lastUsedResolution = time.Minute

// Create makes a new key for the account and returns its secret, which is
// shown once and never stored. The key gets the given scopes, or every
// scope when none is given (the CLI's default, "all").
func (r *KeyRepo) Create(ctx context.Context, accountID uuid.UUID, name string, expiresAt *time.Time, scopes ...model.Scope) (string, *model.APIKey, error) {
	granted, err := model.NewScopes(scopes...)
	if err != nil {
		return "", nil, &model.ValidationError{Fields: map[string][]string{"scopes": {err.Error()}}}
	}
	secret := model.NewAPIKeySecret()
	k := &model.APIKey{
		AccountID: accountID,
		Name:      name,
		Prefix:    secret[:model.KeyDisplayChars],
		Hash:      model.HashKey(secret),
		ExpiresAt: expiresAt,
		Scopes:    granted,
	}
	if _, err := r.db.NewInsert().Model(k).Returning("*").Exec(ctx); err != nil {
		return "", nil, interpretError(err)
	}
	return secret, k, nil
}

// List returns the account's keys, oldest first.
func (r *KeyRepo) List(ctx context.Context, accountID uuid.UUID) ([]model.APIKey, error) {
	var keys []model.APIKey
	err := r.db.NewSelect().Model(&keys).
		Where("account_id = ?", accountID).
		Order("created_at", "id").
		Scan(ctx)
	return keys, interpretError(err)
}

// Revoke marks a key revoked; ErrNotFound if there is no such key.
// Revoking twice keeps the first revocation time.
func (r *KeyRepo) Revoke(ctx context.Context, id uuid.UUID) (*model.APIKey, error) {
	k := new(model.APIKey)
	err := r.db.NewUpdate().Model(k).
		Set("revoked_at = coalesce(revoked_at, now())").
		Where("id = ?", id).
		Returning("*").
		Scan(ctx)
	if err != nil {
		return nil, interpretError(err)
	}
	return k, nil
}

// Authenticate returns the usable key whose secret is given. A malformed,
// unknown, expired or revoked key is ErrNotFound. The lookup is by SHA-256 of
// the secret, so its timing reveals nothing about the secret itself.
func (r *KeyRepo) Authenticate(ctx context.Context, secret string) (*model.APIKey, error) {
	if !model.WellFormedKey(secret) {
		return nil, model.ErrNotFound
	}
	k := new(model.APIKey)
	if err := r.db.NewSelect().Model(k).Where("hash = ?", model.HashKey(secret)).Scan(ctx); err != nil {
		return nil, interpretError(err)
	}
	now := time.Now()
	if !k.Usable(now) {
		return nil, model.ErrNotFound
	}
	if k.LastUsedAt == nil || now.Sub(*k.LastUsedAt) > lastUsedResolution {
		// The WHERE clause keeps concurrent requests from all writing.
		_, err := r.db.NewUpdate().Model((*model.APIKey)(nil)).
			Set("last_used_at = now()").
			Where("id = ?", k.ID).
			Where("last_used_at IS NULL OR last_used_at < now() - interval '1 minute'").
			Exec(ctx)
		if err != nil {
			return nil, interpretError(err)
		}
	}
	return k, nil
}
