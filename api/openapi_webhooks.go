package api

import (
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/remy-crm/remy/model"
)

// The bodies of webhook deliveries (model.Event, as the change feed serves it too), one type per
// kind of object, so that the document can say what data.object is.
type (
	contactEvent struct {
		ID        uuid.UUID        `json:"id" format:"uuid" doc:"The event's id: the Activity Log entry's id, as in the webhook-id header and the change feed."`
		Type      string           `json:"type" doc:"The event type."`
		Timestamp time.Time        `json:"timestamp" doc:"When the change was made: the Activity Log entry's createdAt."`
		Data      contactEventData `json:"data"`
	}
	contactEventData struct {
		Object   model.Contact  `json:"object" doc:"The contact as the API shows it: after the change, or as it was when deleted."`
		Activity model.Activity `json:"activity" doc:"The Activity Log entry of the change (the same the Activity Log serves)."`
	}
	noteEvent struct {
		ID        uuid.UUID     `json:"id" format:"uuid" doc:"The event's id: the Activity Log entry's id, as in the webhook-id header and the change feed."`
		Type      string        `json:"type" doc:"The event type."`
		Timestamp time.Time     `json:"timestamp" doc:"When the change was made: the Activity Log entry's createdAt."`
		Data      noteEventData `json:"data"`
	}
	noteEventData struct {
		Object   model.Note     `json:"object" doc:"The note as the API shows it: after the change, or as it was when deleted."`
		Activity model.Activity `json:"activity" doc:"The Activity Log entry of the change (the same the Activity Log serves)."`
	}
	pingEvent struct {
		ID        uuid.UUID     `json:"id" format:"uuid" doc:"The event's id: the Activity Log entry's id, as in the webhook-id header and the change feed."`
		Type      string        `json:"type" doc:"The event type." enum:"webhook.ping"`
		Timestamp time.Time     `json:"timestamp" doc:"When the ping was asked for."`
		Data      pingEventData `json:"data"`
	}
	pingEventData struct {
		Object model.Webhook `json:"object" doc:"The endpoint itself (without its secret)."`
	}
)

// documentPayloads gives the Activity Log's change values a schema and
// adds the OpenAPI 3.1 webhooks section: for each event type, the POST a
// receiver gets, with its Standard Webhooks headers.
func documentPayloads(oapi *huma.OpenAPI) {
	reg := oapi.Components.Schemas
	documentChangeValues(reg)

	eventTypes := append(slices.Clone(model.WebhookEvents), model.EventPing)
	schemas := map[string]*huma.Schema{}
	for resource, t := range map[string]reflect.Type{
		model.ResourceContact: reflect.TypeFor[contactEvent](),
		model.ResourceNote:    reflect.TypeFor[noteEvent](),
		model.ResourceWebhook: reflect.TypeFor[pingEvent](),
	} {
		ref := reg.Schema(t, true, "")
		s := reg.SchemaFromRef(ref.Ref)
		var types []any
		for _, e := range eventTypes {
			if strings.HasPrefix(e, resource+".") {
				types = append(types, e)
			}
		}
		s.Properties["type"].Enum = types
		s.Properties["type"].PrecomputeMessages()
		for _, e := range types {
			schemas[e.(string)] = ref
		}
	}

	if oapi.Webhooks == nil {
		oapi.Webhooks = map[string]*huma.PathItem{}
	}
	for _, e := range eventTypes {
		if schemas[e] == nil {
			panic("api: no payload schema for webhook event " + e)
		}
		oapi.Webhooks[e] = &huma.PathItem{Post: &huma.Operation{
			OperationID: operationID(e),
			Summary:     e,
			Description: webhookDescription(e),
			Tags:        []string{"Webhooks"},
			Parameters:  webhookHeaders,
			// No API key: the receiver checks webhook-signature instead.
			Security: []map[string][]string{{}},
			RequestBody: &huma.RequestBody{Required: true, Content: map[string]*huma.MediaType{
				"application/json": {Schema: schemas[e]},
			}},
			Responses: map[string]*huma.Response{
				"200": {Description: "Any 2xx acknowledges the delivery. 410 Gone disables the endpoint; any other status, or no answer within the timeout (15 s by default), is tried again on the retry schedule (by default 8 attempts over about 28 hours)."},
			},
		}}
	}
}

// operationID names an event's operation: contact.created → contactCreatedEvent.
func operationID(event string) string {
	id := identifier(strings.ReplaceAll(event, ".", " ")) + "Event"
	return strings.ToLower(id[:1]) + id[1:]
}

func webhookDescription(event string) string {
	if event == model.EventPing {
		return "Sent only when asked for (POST /api/v1/webhooks/{id}/ping), whatever the endpoint's event filter: one attempt, to check the endpoint receives and verifies deliveries."
	}
	return "Sent to each enabled endpoint whose events include " + event + " (or *), after the change is committed. " +
		"Receivers verify the webhook-signature over `{webhook-id}.{webhook-timestamp}.{body}` (Standard Webhooks) " +
		"and de-duplicate on webhook-id: a delivery may arrive more than once."
}

// webhookHeaders are the Standard Webhooks headers of every delivery.
var webhookHeaders = []*huma.Param{
	{Name: "webhook-id", In: "header", Required: true,
		Description: "The event's id, the same on every attempt: the Activity Log entry's id (the delivery's eventId).",
		Schema:      &huma.Schema{Type: huma.TypeString, Format: "uuid"}},
	{Name: "webhook-timestamp", In: "header", Required: true,
		Description: "Unix seconds when this attempt was signed; refuse ones far from now (the Standard Webhooks libraries allow 5 minutes).",
		Schema:      &huma.Schema{Type: huma.TypeInteger, Format: "int64", Examples: []any{1767225600}}},
	{Name: "webhook-signature", In: "header", Required: true,
		Description: "Space-separated `v1,<base64 HMAC-SHA256>` signatures, one per live secret (two during a rotation): accept the delivery if any verifies.",
		Schema:      &huma.Schema{Type: huma.TypeString, Examples: []any{"v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="}}},
}

// documentChangeValues says what an Activity Log change's before and after
// hold: any JSON value the field can take. A oneOf of JSON types, which
// oapi-codegen, ogen and openapi-typescript all turn into a union.
func documentChangeValues(reg huma.Registry) {
	change := reg.Map()["Change"]
	if change == nil {
		return
	}
	reg.Map()["ChangeValue"] = &huma.Schema{
		Description: "A field's value: a string (most fields, dates as YYYY-MM-DD), a list (emails, phones, urls, addresses, tags, a webhook's events), a boolean (a webhook's enabled), or null when it was or became unset.",
		OneOf: []*huma.Schema{
			{Type: huma.TypeString},
			{Type: huma.TypeBoolean},
			{Type: huma.TypeArray, Items: &huma.Schema{}},
			{Type: huma.TypeObject, AdditionalProperties: true},
			{Type: "null"},
		},
	}
	for name, doc := range map[string]string{"before": "The value before the change.", "after": "The value after the change."} {
		change.Properties[name] = &huma.Schema{Ref: "#/components/schemas/ChangeValue", Description: doc}
	}
}
