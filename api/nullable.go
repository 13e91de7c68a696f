package api

import (
	"bytes"
	"encoding/json"
	"reflect"

	"github.com/danielgtaylor/huma/v2"

	"github.com/remy-crm/remy/model"
)

// Nullable is a request field that can be absent, null or a value: what a
// partial update needs and Huma does not provide. Its schema is T's, marked
// nullable, so the validation tags on the field apply to the value.
type Nullable[T any] struct {
	Sent  bool
	Null  bool
	Value T
}

// UnmarshalJSON records that the field was sent, and whether as null.
func (n *Nullable[T]) UnmarshalJSON(b []byte) error {
	n.Sent = true
	if bytes.Equal(b, []byte("null")) {
		n.Null = true
		return nil
	}
	return json.Unmarshal(b, &n.Value)
}

// Schema is T's schema, nullable.
func (n Nullable[T]) Schema(r huma.Registry) *huma.Schema {
	s := r.Schema(reflect.TypeOf(n.Value), true, "")
	s.Nullable = true
	return s
}

// optional converts to the model's partial-update field through conv.
func optional[T, M any](n Nullable[T], conv func(T) M) model.Optional[M] {
	switch {
	case !n.Sent:
		return model.Optional[M]{}
	case n.Null:
		return model.Optional[M]{Set: true}
	default:
		return model.Some(conv(n.Value))
	}
}

func same[T any](v T) T { return v }
