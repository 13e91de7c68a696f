package api

import (
	"reflect"

	"github.com/danielgtaylor/huma/v2"

	"github.com/remy-crm/remy/model"
)

// dataBody is the envelope of every single resource: {"data": …}.
type dataBody[T any] struct {
	Data T `json:"data"`
}

// dataResponse is the response of an operation that returns one resource
// and no header of its own.
type dataResponse[T any] struct {
	Body dataBody[T]
}

func dataOut[T any](v T) *dataResponse[T] { return &dataResponse[T]{Body: dataBody[T]{v}} }

// listBody is the envelope of every list: one page, and how many there are
// in all.
type listBody[T any] struct {
	Data  []T `json:"data"`
	Total int `json:"total"`
}

// listResponse is the response of every list operation.
type listResponse[T any] struct {
	Body listBody[T]
}

func listOut[T any](p model.Page[T]) *listResponse[T] {
	return &listResponse[T]{Body: listBody[T]{Data: p.Items, Total: p.Total}}
}

// listTotal is what a list's total counts, as the document says it.
type listTotal struct {
	doc     string
	example int
}

// listTotals documents each list's total, by the type listed.
var listTotals = map[reflect.Type]listTotal{
	reflect.TypeFor[model.Contact]():        {"Count of all contacts that match the filters, before pagination.", 42},
	reflect.TypeFor[model.Note]():           {"Count of all the contact's notes, before pagination.", 3},
	reflect.TypeFor[model.Tag]():            {"How many distinct tags the account's contacts carry.", 7},
	reflect.TypeFor[model.Activity]():       {"Count of all matching entries, before pagination.", 42},
	reflect.TypeFor[model.Webhook]():        {"Count of all the account's endpoints, before pagination.", 2},
	reflect.TypeFor[model.Delivery]():       {"Count of all matching deliveries, before pagination.", 12},
	reflect.TypeFor[model.DuplicateGroup](): {"Count of all groups of possible duplicates, before pagination.", 2},
}

// TransformSchema says what the list's total counts.
func (listBody[T]) TransformSchema(_ huma.Registry, s *huma.Schema) *huma.Schema {
	if t, ok := listTotals[reflect.TypeFor[T]()]; ok {
		s.Properties["total"].Description = t.doc
		s.Properties["total"].Examples = []any{t.example}
	}
	return s
}

// Component names of the envelopes. They are the names the document has
// always published (clients generated from it use them), so they are kept
// rather than derived from Go's generic type names.
func (listBody[T]) schemaName() string { return reflect.TypeFor[T]().Name() + "ListResponseBody" }
func (dataBody[T]) schemaName() string { return dataNames[reflect.TypeFor[T]()] }

var dataNames = map[reflect.Type]string{
	reflect.TypeFor[*model.Contact]():    "ContactData",
	reflect.TypeFor[*model.Note]():       "NoteData",
	reflect.TypeFor[*model.Webhook]():    "WebhookResponseBody",
	reflect.TypeFor[*model.Delivery]():   "DeliveryAcceptedResponseBody",
	reflect.TypeFor[WebhookWithSecret](): "WebhookSecretResponseBody",
	reflect.TypeFor[Deleted]():           "DeletedResponseBody",
	reflect.TypeFor[*ImportReport]():     "ImportData",
}

// schemaName is Huma's namer but for the envelopes, which name themselves.
func schemaName(t reflect.Type, hint string) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n, ok := reflect.Zero(t).Interface().(interface{ schemaName() string }); ok {
		if name := n.schemaName(); name != "" {
			return name
		}
	}
	return huma.DefaultSchemaNamer(t, hint)
}
