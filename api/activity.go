package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/remy-crm/remy/model"
)

// ActivityParams filter the Activity Log.
type ActivityParams struct {
	ListParams
	Since      time.Time `query:"since" doc:"Only entries created at or after this instant (RFC 3339; encode + as %2B). An entry becomes visible when its transaction commits, which can be seconds after its createdAt: to keep a copy in sync, follow the change feed (GET /api/v1/events) instead, which cannot skip." example:"2026-11-26T09:00:00Z"`
	ResourceID uuid.UUID `query:"resourceId" format:"uuid" doc:"Only entries about this contact or note." example:"0b7e7a8e-58f5-4a3c-9a7f-2f0f3a1d5c11"`
}

const activityDescription = `The account's Activity Log, newest first: one entry per successful
mutation (contact.created|updated|deleted, note.created|updated|deleted,
webhook.created|updated|deleted|secret_rotated), written in the same transaction as the change. Deleting a contact also writes note.deleted for each of its
notes. Updates carry ` + "`changes`" + `: for each changed field, its value before and after.
Reads are not logged. To sync, follow the change feed (GET /api/v1/events) or subscribe to webhooks.`

func (s *server) registerActivity() {
	huma.Register(s.api, huma.Operation{
		OperationID: "listActivity",
		Method:      http.MethodGet,
		Path:        "/api/v1/activity",
		Summary:     "List Activity Log entries",
		Description: activityDescription,
		Tags:        []string{"Activity"},
		Security:    requireScope(model.ScopeActivityRead),
		Errors:      errs(http.StatusUnprocessableEntity),
	}, func(ctx context.Context, in *ActivityParams) (*listResponse[model.Activity], error) {
		f := model.ActivityFilter{ListParams: in.model(), Since: in.Since, ResourceID: in.ResourceID}
		page, err := s.activity.List(ctx, accountID(ctx), f)
		if err != nil {
			return nil, problem(err, "Activity")
		}
		return listOut(page), nil
	})
}
