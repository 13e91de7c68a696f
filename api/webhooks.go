package api

import (
	"context"
	"net/http"
	"slices"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/remy-crm/remy/model"
)

// Scopes of the webhook operations.
var (
	webhooksRead  = requireScope(model.ScopeWebhooksRead)
	webhooksWrite = requireScope(model.ScopeWebhooksWrite)
)

// WebhookCreateInput is the body of POST /api/v1/webhooks.
type WebhookCreateInput struct {
	URL         string   `json:"url" minLength:"1" maxLength:"2048" doc:"Absolute https:// URL, without credentials, of a public address." example:"https://example.com/remy-webhooks"`
	Events      []string `json:"events" minItems:"1" doc:"Event types to deliver, or \"*\" for all." example:"[\"contact.created\",\"note.created\"]"`
	Description string   `json:"description,omitempty" maxLength:"500" doc:"Free text to recognise the endpoint by." example:"CRM sync"`
}

// WebhookUpdateInput is the body of PATCH: absent fields are unchanged;
// none may be null (nullable:"false" says so in the schema, and a null gets
// a 422 "Must not be null").
type WebhookUpdateInput struct {
	URL         Nullable[string]   `json:"url,omitempty" nullable:"false" minLength:"1" maxLength:"2048" doc:"Absolute https:// URL of a public address." example:"https://example.com/remy-webhooks"`
	Events      Nullable[[]string] `json:"events,omitempty" nullable:"false" minItems:"1" doc:"Event types to deliver, or \"*\" for all."`
	Description Nullable[string]   `json:"description,omitempty" nullable:"false" maxLength:"500" doc:"Free text to recognise the endpoint by."`
	Enabled     Nullable[bool]     `json:"enabled,omitempty" nullable:"false" doc:"false stops new deliveries; true re-enables the endpoint and clears disabledReason and its failure count."`
}

// WebhookIDParam is the {id} of an endpoint URL.
type WebhookIDParam struct {
	ID uuid.UUID `path:"id" format:"uuid" doc:"The endpoint's id." example:"7d1c5a0e-3b9f-4c1e-8a2d-6f5e4d3c2b1a"`
}

// DeliveryIDParam is the {deliveryId} of a delivery URL.
type DeliveryIDParam struct {
	DeliveryID uuid.UUID `path:"deliveryId" format:"uuid" doc:"The delivery's id." example:"1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"`
}

// WebhookWithSecret is an endpoint as creation and rotation return it: the
// only two responses that show the secret.
type WebhookWithSecret struct {
	model.Webhook
	Secret string `json:"secret" doc:"whsec_ + base64 of 32 random bytes: the Standard Webhooks signing secret. Shown only here." example:"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"`
}

// webhookCreatedResponse keeps its own body type: the document has always
// named its schema apart from rotation's.
type webhookCreatedResponse struct {
	Location string `header:"Location" doc:"URL of the new endpoint."`
	IdempotentReplayedHeader
	Body struct {
		Data WebhookWithSecret `json:"data"`
	}
}

// subscribable is what an endpoint may subscribe to: model's webhook
// events, or "*" for all.
var subscribable = append(slices.Clone(model.WebhookEvents), model.EventAll)

// TransformSchema and the one below give events its enum from model.
func (WebhookCreateInput) TransformSchema(_ huma.Registry, s *huma.Schema) *huma.Schema {
	return eventsEnum(s)
}

func (WebhookUpdateInput) TransformSchema(_ huma.Registry, s *huma.Schema) *huma.Schema {
	return eventsEnum(s)
}

func eventsEnum(s *huma.Schema) *huma.Schema {
	items := s.Properties["events"].Items
	items.Enum = anys(subscribable)
	items.PrecomputeMessages()
	return s
}

// DeliveryParams filter an endpoint's deliveries.
type DeliveryParams struct {
	ListParams
	Status string `query:"status" doc:"Only deliveries in this state."`
}

const webhooksDescription = `Outbound webhooks, per the Standard Webhooks specification: every contact and
note change is POSTed to the endpoints that subscribe to its type, with headers ` + "`webhook-id`" + ` (the
event id, the same on every attempt), ` + "`webhook-timestamp`" + ` and ` + "`webhook-signature`" + ` (` + "`v1,<base64 HMAC-SHA256>`" + `
over ` + "`{id}.{timestamp}.{body}`" + `, keyed with the decoded secret; two signatures, space-separated, for
24 hours after a rotation). The body is ` + "`{\"type\",\"timestamp\",\"data\":{\"object\",\"activity\"}}`" + `.

Delivery is at least once: a 2xx within the timeout is success; anything else is retried after
5s, 5m, 30m, 2h, 5h, 10h and 10h (then the delivery is failed). A 410 disables the endpoint, as do
5 failed deliveries in a row. **Ordering is not guaranteed**: order by ` + "`timestamp`" + ` and the object's
` + "`updatedAt`" + `, and deduplicate by ` + "`webhook-id`" + `.`

func webhookWithSecret(w *model.Webhook) WebhookWithSecret {
	return WebhookWithSecret{Webhook: *w, Secret: w.Secret}
}

func (s *server) registerWebhooks() {
	s.api.OpenAPI().Tags = append(s.api.OpenAPI().Tags, &huma.Tag{Name: "Webhooks", Description: webhooksDescription})
	s.createWebhook()
	s.listWebhooks()
	s.getWebhook()
	s.updateWebhook()
	s.deleteWebhook()
	s.rotateWebhookSecret()
	s.pingWebhook()
	s.listWebhookDeliveries()
	s.retryWebhookDelivery()
}

// webhookOperation is what every webhook operation declares alike.
func webhookOperation(op huma.Operation) huma.Operation {
	op.Tags = []string{"Webhooks"}
	if op.Method == http.MethodGet {
		op.Security = webhooksRead
	} else {
		op.Security = webhooksWrite
	}
	return op
}

func (s *server) createWebhook() {
	huma.Register(s.api, webhookOperation(huma.Operation{
		OperationID:   "createWebhook",
		Method:        http.MethodPost,
		Path:          "/api/v1/webhooks",
		Summary:       "Create a webhook endpoint",
		Description:   "Registers an endpoint and returns it with its signing secret, shown only here and on rotation. Logged as webhook.created (without the secret).\n\n" + webhooksDescription,
		DefaultStatus: http.StatusCreated,
		Errors:        errs(http.StatusBadRequest, http.StatusConflict, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity),
	}), func(ctx context.Context, in *struct {
		IdempotencyKeyParam
		Body WebhookCreateInput
	}) (*webhookCreatedResponse, error) {
		w, err := s.store.Webhooks.Create(ctx, actor(ctx), &model.Webhook{URL: in.Body.URL, Events: in.Body.Events, Description: in.Body.Description})
		if err != nil {
			return nil, problem(err, "Webhook")
		}
		out := &webhookCreatedResponse{Location: "/api/v1/webhooks/" + w.ID.String()}
		out.Body.Data = webhookWithSecret(w)
		return out, nil
	})
}

func (s *server) listWebhooks() {
	huma.Register(s.api, webhookOperation(huma.Operation{
		OperationID: "listWebhooks",
		Method:      http.MethodGet,
		Path:        "/api/v1/webhooks",
		Summary:     "List webhook endpoints",
		Description: "Returns a page of the account's endpoints, newest first (secrets are never listed).",
		Errors:      errs(http.StatusUnprocessableEntity),
	}), func(ctx context.Context, in *struct{ ListParams }) (*listResponse[model.Webhook], error) {
		page, err := s.store.Webhooks.List(ctx, accountID(ctx), in.model())
		if err != nil {
			return nil, problem(err, "Webhook")
		}
		return listOut(page), nil
	})
}

func (s *server) getWebhook() {
	huma.Register(s.api, webhookOperation(huma.Operation{
		OperationID: "getWebhook",
		Method:      http.MethodGet,
		Path:        "/api/v1/webhooks/{id}",
		Summary:     "Get a webhook endpoint",
		Description: "Returns one endpoint, without its secret. Another account's endpoint is a 404.",
		Errors:      errs(http.StatusBadRequest, http.StatusNotFound),
	}), func(ctx context.Context, in *WebhookIDParam) (*dataResponse[*model.Webhook], error) {
		w, err := s.store.Webhooks.Get(ctx, accountID(ctx), in.ID)
		if err != nil {
			return nil, problem(err, "Webhook")
		}
		return dataOut(w), nil
	})
}

func (s *server) updateWebhook() {
	huma.Register(s.api, webhookOperation(huma.Operation{
		OperationID: "updateWebhook",
		Method:      http.MethodPatch,
		Path:        "/api/v1/webhooks/{id}",
		Summary:     "Update a webhook endpoint",
		Description: "Partial update of url, events, description and enabled (none may be null). Re-enabling clears disabledReason and the failure count. Logged as webhook.updated.",
		Errors:      errs(http.StatusBadRequest, http.StatusNotFound, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity),
	}), func(ctx context.Context, in *struct {
		WebhookIDParam
		Body WebhookUpdateInput
	}) (*dataResponse[*model.Webhook], error) {
		patch := model.WebhookPatch{
			URL:         optional(in.Body.URL, same),
			Events:      optional(in.Body.Events, same),
			Description: optional(in.Body.Description, same),
			Enabled:     optional(in.Body.Enabled, same),
		}
		w, err := s.store.Webhooks.Update(ctx, actor(ctx), in.ID, patch)
		if err != nil {
			return nil, problem(err, "Webhook")
		}
		return dataOut(w), nil
	})
}

func (s *server) deleteWebhook() {
	huma.Register(s.api, webhookOperation(huma.Operation{
		OperationID: "deleteWebhook",
		Method:      http.MethodDelete,
		Path:        "/api/v1/webhooks/{id}",
		Summary:     "Delete a webhook endpoint",
		Description: "Deletes the endpoint and its deliveries; pending deliveries are dropped. Logged as webhook.deleted.",
		Errors:      errs(http.StatusBadRequest, http.StatusNotFound),
	}), func(ctx context.Context, in *WebhookIDParam) (*dataResponse[Deleted], error) {
		if err := s.store.Webhooks.Delete(ctx, actor(ctx), in.ID); err != nil {
			return nil, problem(err, "Webhook")
		}
		return deleted(in.ID), nil
	})
}

func (s *server) rotateWebhookSecret() {
	huma.Register(s.api, webhookOperation(huma.Operation{
		OperationID: "rotateWebhookSecret",
		Method:      http.MethodPost,
		Path:        "/api/v1/webhooks/{id}/rotate-secret",
		Summary:     "Rotate a webhook endpoint's secret",
		Description: "Returns the endpoint with a new secret. For 24 hours deliveries carry two signatures, with the new and the old secret, then only the new one. Logged as webhook.secret_rotated.",
		Errors:      errs(http.StatusBadRequest, http.StatusNotFound),
	}), func(ctx context.Context, in *WebhookIDParam) (*dataResponse[WebhookWithSecret], error) {
		w, err := s.store.Webhooks.RotateSecret(ctx, actor(ctx), in.ID)
		if err != nil {
			return nil, problem(err, "Webhook")
		}
		return dataOut(webhookWithSecret(w)), nil
	})
}

func (s *server) pingWebhook() {
	huma.Register(s.api, webhookOperation(huma.Operation{
		OperationID:   "pingWebhook",
		Method:        http.MethodPost,
		Path:          "/api/v1/webhooks/{id}/ping",
		Summary:       "Send a test event",
		Description:   "Queues a webhook.ping event (data.object is the endpoint) for this endpoint only, whatever its event filter or state, and returns the delivery.",
		DefaultStatus: http.StatusAccepted,
		Errors:        errs(http.StatusBadRequest, http.StatusNotFound),
	}), func(ctx context.Context, in *WebhookIDParam) (*dataResponse[*model.Delivery], error) {
		d, err := s.store.Webhooks.Ping(ctx, accountID(ctx), in.ID)
		if err != nil {
			return nil, problem(err, "Webhook")
		}
		return dataOut(d), nil
	})
}

func (s *server) listWebhookDeliveries() {
	huma.Register(s.api, webhookOperation(huma.Operation{
		OperationID: "listWebhookDeliveries",
		Method:      http.MethodGet,
		Path:        "/api/v1/webhooks/{id}/deliveries",
		Summary:     "List an endpoint's deliveries",
		Description: "Newest first. nextAttemptAt is null once a delivery is final; lastStatusCode is null when no response came, and lastError then says why. Deliveries are kept 30 days.",
		Errors:      errs(http.StatusBadRequest, http.StatusNotFound, http.StatusUnprocessableEntity),
		Metadata:    map[string]any{paramEnumsKey: map[string][]string{"status": model.DeliveryStatuses}},
	}), func(ctx context.Context, in *struct {
		WebhookIDParam
		DeliveryParams
	}) (*listResponse[model.Delivery], error) {
		page, err := s.store.Webhooks.Deliveries(ctx, accountID(ctx), in.ID,
			model.DeliveryFilter{ListParams: in.model(), Status: in.Status})
		if err != nil {
			return nil, problem(err, "Webhook")
		}
		return listOut(page), nil
	})
}

func (s *server) retryWebhookDelivery() {
	huma.Register(s.api, webhookOperation(huma.Operation{
		OperationID:   "retryWebhookDelivery",
		Method:        http.MethodPost,
		Path:          "/api/v1/webhooks/{id}/deliveries/{deliveryId}/retry",
		Summary:       "Retry a delivery now",
		Description:   "Sends the delivery again now, with the same webhook-id, whatever its status (one attempt, outside the retry schedule).",
		DefaultStatus: http.StatusAccepted,
		Errors:        errs(http.StatusBadRequest, http.StatusNotFound),
	}), func(ctx context.Context, in *struct {
		WebhookIDParam
		DeliveryIDParam
	}) (*dataResponse[*model.Delivery], error) {
		d, err := s.store.Webhooks.Retry(ctx, accountID(ctx), in.ID, in.DeliveryID)
		if err != nil {
			return nil, problem(err, "Delivery")
		}
		return dataOut(d), nil
	})
}
