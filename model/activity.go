package model

import (
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// Activity Log actions.
const (
	ActionContactCreated = "contact.created"
	ActionContactUpdated = "contact.updated"
	ActionContactDeleted = "contact.deleted"
	ActionNoteCreated    = "note.created"
	ActionNoteUpdated    = "note.updated"
	ActionNoteDeleted    = "note.deleted"
)

// Resource types named in the Activity Log.
const (
	ResourceContact = "contact"
	ResourceNote    = "note"
)

// Actions and ResourceTypes list the constants above: the enums the API
// documents. A new action or resource type goes in both places.
var (
	Actions = []string{ActionContactCreated, ActionContactUpdated, ActionContactDeleted,
		ActionNoteCreated, ActionNoteUpdated, ActionNoteDeleted,
		ActionWebhookCreated, ActionWebhookUpdated, ActionWebhookDeleted, ActionWebhookSecretRotated}
	ResourceTypes = []string{ResourceContact, ResourceNote, ResourceWebhook}
)

// Activity is one Activity Log entry: a mutation, who made it and from where.
// It is written in the same transaction as the change it records.
type Activity struct {
	bun.BaseModel `bun:"table:activity_log" json:"-"`

	ID           uuid.UUID         `bun:"id,pk,type:uuid,default:gen_random_uuid()" json:"id" format:"uuid" readOnly:"true"`
	AccountID    uuid.UUID         `bun:"account_id,type:uuid,notnull" json:"-"`
	Action       string            `bun:"action,notnull" json:"action" readOnly:"true"`
	ResourceType string            `bun:"resource_type,notnull" json:"resourceType" readOnly:"true"`
	ResourceID   uuid.UUID         `bun:"resource_id,type:uuid,notnull" json:"resourceId" format:"uuid" readOnly:"true"`
	AuthMethod   string            `bun:"auth_method,notnull" json:"authMethod" readOnly:"true"`
	APIKeyID     *uuid.UUID        `bun:"api_key_id,type:uuid" json:"apiKeyId" format:"uuid" nullable:"true" readOnly:"true" doc:"The API key that made the change; null for changes made with the CLI."`
	IP           string            `bun:"ip,notnull" json:"ip" readOnly:"true"`
	UserAgent    string            `bun:"user_agent,notnull" json:"userAgent" readOnly:"true"`
	Changes      map[string]Change `bun:"changes,type:jsonb" json:"changes" nullable:"true" readOnly:"true" doc:"For *.updated entries, each changed field's value before and after; null for *.created and *.deleted."`
	CreatedAt    time.Time         `bun:"created_at,nullzero,notnull,default:clock_timestamp()" json:"createdAt" readOnly:"true"`
}

// NewActivity builds the entry recording that actor did action to a resource,
// with an id of its own, so a write whose answer is lost can be told by it.
func NewActivity(actor Actor, action, resourceType string, resourceID uuid.UUID, changes map[string]Change) *Activity {
	return &Activity{
		ID:           uuid.New(),
		AccountID:    actor.AccountID,
		Action:       action,
		ResourceType: resourceType,
		ResourceID:   resourceID,
		AuthMethod:   actor.AuthMethod,
		APIKeyID:     actor.APIKeyID,
		IP:           actor.IP,
		UserAgent:    actor.UserAgent,
		Changes:      changes,
	}
}

// ActivityFilter selects Activity Log entries. Zero values select all.
type ActivityFilter struct {
	ListParams
	// Since keeps entries created at or after this instant.
	Since time.Time
	// ResourceID keeps entries about one contact or note.
	ResourceID uuid.UUID
}
