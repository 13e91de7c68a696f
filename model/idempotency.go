package model

import (
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// Idempotency record states.
const (
	// IdempotencyRunning: a request holds the key and has not finished.
	IdempotencyRunning = "running"
	// IdempotencyDone: the response is stored and is replayed to retries.
	IdempotencyDone = "done"
)

// IdempotencyRecord is what an Idempotency-Key holds within one account: the
// fingerprint of the request that claimed it and, once that request
// succeeded, its response.
type IdempotencyRecord struct {
	bun.BaseModel `bun:"table:idempotency_keys,alias:ik"`

	AccountID   uuid.UUID           `bun:"account_id,pk,type:uuid"`
	Key         string              `bun:"key,pk"`
	Fingerprint []byte              `bun:"fingerprint,notnull"`
	State       string              `bun:"state,notnull"`
	Claim       uuid.UUID           `bun:"claim,type:uuid,notnull"`
	Status      int                 `bun:"status,nullzero"`
	Headers     map[string][]string `bun:"headers,type:jsonb"`
	Body        []byte              `bun:"body"`
	CreatedAt   time.Time           `bun:"created_at,nullzero,notnull"`
	LockedUntil time.Time           `bun:"locked_until,notnull"`
	ExpiresAt   time.Time           `bun:"expires_at,notnull"`
}
