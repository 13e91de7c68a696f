package client

import "encoding/json"

// Patch is a partial update, sent as a JSON merge patch: each key is a
// field's JSON name; a key with a nil value clears the field; lists are
// replaced whole; absent keys are left as they are.
//
//	client.Patch{"nickname": "Amazing Grace", "birthday": nil, "tags": []string{"navy"}}
type Patch map[string]any

// Ptr returns a pointer to v, for the optional fields of inputs:
// client.ContactInput{GivenName: client.Ptr("Ada")}.
func Ptr[T any](v T) *T { return &v }

// Patch is the update that sets in's non-nil fields, for Update: a typed
// way to write a Patch. It cannot clear a field; add the key with nil to
// the result for that.
func (in ContactInput) Patch() Patch {
	b, _ := json.Marshal(in) // strings and slices of plain structs always encode
	p := Patch{}
	_ = json.Unmarshal(b, &p)
	return p
}
