package model

import (
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// Account is a Remy user: the owner of contacts, notes and API keys.
type Account struct {
	bun.BaseModel `bun:"table:accounts" json:"-"`

	ID        uuid.UUID `bun:"id,pk,type:uuid,default:gen_random_uuid()" json:"id" format:"uuid" readOnly:"true"`
	Email     string    `bun:"email,notnull" json:"email" format:"email"`
	Name      string    `bun:"name,notnull" json:"name"`
	CreatedAt time.Time `bun:"created_at,nullzero,notnull,default:now()" json:"createdAt" readOnly:"true"`
}

// APIKey is the stored half of an API key: a hash and a display prefix,
// never the key itself.
type APIKey struct {
	bun.BaseModel `bun:"table:api_keys"`

	ID         uuid.UUID  `bun:"id,pk,type:uuid,default:gen_random_uuid()"`
	AccountID  uuid.UUID  `bun:"account_id,type:uuid,notnull"`
	Name       string     `bun:"name,notnull"`
	Prefix     string     `bun:"prefix,notnull"`
	Hash       []byte     `bun:"hash,notnull"`
	CreatedAt  time.Time  `bun:"created_at,nullzero,notnull,default:now()"`
	LastUsedAt *time.Time `bun:"last_used_at"`
	ExpiresAt  *time.Time `bun:"expires_at"`
	RevokedAt  *time.Time `bun:"revoked_at"`
	// Scopes is what the key may do, expanded (see ParseScopes). It travels
	// with the key Authenticate returns, so whatever caches keys caches
	// their scopes too.
	Scopes Scopes `bun:"scopes,array,notnull"`
}

// Usable reports whether the key may authenticate a request at time now.
func (k *APIKey) Usable(now time.Time) bool {
	return k.RevokedAt == nil && (k.ExpiresAt == nil || now.Before(*k.ExpiresAt))
}

// Auth methods recorded in the Activity Log.
const (
	AuthMethodAPIKey = "api_key"
	AuthMethodCLI    = "cli"
)

// AuthMethods is every auth method, the enum the API documents.
var AuthMethods = []string{AuthMethodAPIKey, AuthMethodCLI}

// Actor is who made a change, as the Activity Log records it.
type Actor struct {
	AccountID  uuid.UUID
	AuthMethod string
	APIKeyID   *uuid.UUID
	IP         string
	UserAgent  string
}
