package repo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/remy-crm/remy/model"
)

// IdempotencyRepo stores Idempotency-Key records. Every process serving the
// API shares them through the database, so a retry that reaches another
// instance behind the load balancer sees the same key.
type IdempotencyRepo struct{ db *bun.DB }

// IdempotencyClaim names one request's hold on a key.
type IdempotencyClaim struct {
	AccountID uuid.UUID
	Key       string
	ID        uuid.UUID
}

// Claim tries to take key for a request whose fingerprint is given. When the
// key is free, expired, or held by a running claim whose lease ran out (its
// process died without storing a response), it is taken: Claim returns the new claim and a
// nil record. Otherwise it returns the record holding the key (running or
// done) and a nil claim; the caller compares fingerprints and states.
//
// lease bounds how long a running claim blocks others; ttl is how long the
// key (and a stored response) lives.
func (r *IdempotencyRepo) Claim(ctx context.Context, accountID uuid.UUID, key string, fingerprint []byte, lease, ttl time.Duration) (*IdempotencyClaim, *model.IdempotencyRecord, error) {
	// A holder may vanish between the failed INSERT and the SELECT (its
	// request failed and released the key): then try again.
	for range 5 {
		claim := uuid.New()
		var got uuid.UUID
		err := r.db.NewRaw(`
			INSERT INTO idempotency_keys AS k (account_id, key, fingerprint, state, claim, locked_until, expires_at)
			VALUES (?, ?, ?, ?, ?, clock_timestamp() + make_interval(secs => ?), clock_timestamp() + make_interval(secs => ?))
			ON CONFLICT (account_id, key) DO UPDATE SET
				fingerprint = excluded.fingerprint, state = excluded.state, claim = excluded.claim,
				status = NULL, headers = NULL, body = NULL, created_at = clock_timestamp(),
				locked_until = excluded.locked_until, expires_at = excluded.expires_at
			WHERE k.expires_at <= clock_timestamp()
				OR (k.state = ? AND k.locked_until <= clock_timestamp())
			RETURNING claim`,
			accountID, key, fingerprint, model.IdempotencyRunning, claim, lease.Seconds(), ttl.Seconds(),
			model.IdempotencyRunning,
		).Scan(ctx, &got)
		switch err = interpretError(err); {
		case err == nil:
			return &IdempotencyClaim{AccountID: accountID, Key: key, ID: got}, nil, nil
		case !errors.Is(err, model.ErrNotFound):
			return nil, nil, err
		}
		rec := new(model.IdempotencyRecord)
		err = r.db.NewSelect().Model(rec).
			Where("account_id = ? AND key = ? AND expires_at > clock_timestamp()", accountID, key).
			Scan(ctx)
		switch err = interpretError(err); {
		case err == nil:
			return nil, rec, nil
		case !errors.Is(err, model.ErrNotFound):
			return nil, nil, err
		}
	}
	return nil, nil, fmt.Errorf("claim idempotency key: %w", model.ErrConflict)
}

// Complete stores the response of the claimed request, which retries then
// replay. Called with a Store.InTx context, it commits with the request's
// own writes. If the claim was taken over meanwhile (the lease ran out) it
// returns ErrConflict, so that those writes roll back rather than happen
// twice.
func (r *IdempotencyRepo) Complete(ctx context.Context, c *IdempotencyClaim, status int, headers map[string][]string, body []byte) error {
	h, err := json.Marshal(headers)
	if err != nil {
		return err
	}
	res, err := conn(ctx, r.db).NewUpdate().Model((*model.IdempotencyRecord)(nil)).
		Set("state = ?", model.IdempotencyDone).
		Set("status = ?", status).
		Set("headers = ?::jsonb", string(h)).
		Set("body = ?", body).
		Where("account_id = ? AND key = ? AND claim = ? AND state = ?", c.AccountID, c.Key, c.ID, model.IdempotencyRunning).
		Exec(ctx)
	if err != nil {
		return interpretError(err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("%w: idempotency claim taken over", model.ErrConflict)
	}
	return nil
}

// Release gives the key up after a failed request, so that it can be retried.
func (r *IdempotencyRepo) Release(ctx context.Context, c *IdempotencyClaim) error {
	_, err := r.db.NewDelete().Model((*model.IdempotencyRecord)(nil)).
		Where("account_id = ? AND key = ? AND claim = ? AND state = ?", c.AccountID, c.Key, c.ID, model.IdempotencyRunning).
		Exec(ctx)
	return interpretError(err)
}

// Purge deletes expired records, at most batch of them, and returns how many
// it deleted; call it until it returns fewer than batch.
func (r *IdempotencyRepo) Purge(ctx context.Context, batch int) (int64, error) {
	res, err := r.db.NewRaw(`
		DELETE FROM idempotency_keys WHERE ctid IN (
			SELECT ctid FROM idempotency_keys WHERE expires_at <= clock_timestamp() LIMIT ?)`, batch).
		Exec(ctx)
	if err != nil {
		return 0, interpretError(err)
	}
	n, err := res.RowsAffected()
	return n, err
}

// PurgeEvery purges expired records every interval until ctx is done,
// logging through logf. It is meant to run in its own goroutine.
func (r *IdempotencyRepo) PurgeEvery(ctx context.Context, interval time.Duration, logf func(deleted int64, err error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		var total int64
		for {
			n, err := r.Purge(ctx, 1000)
			total += n
			if err != nil {
				if ctx.Err() == nil {
					logf(total, err)
				}
				break
			}
			if n < 1000 {
				logf(total, nil)
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
