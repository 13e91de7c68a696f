package model

import (
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/google/uuid"
)

// MaxMergeSources is how many contacts one merge folds into its target.
const MaxMergeSources = 10

// MsgMergeTarget refuses a merge whose sources name its target.
const MsgMergeTarget = "Must not name the contact merged into"

// CheckMergeSources refuses a merge's list of sources that is empty, too
// long, repeats an id or names the target (as field sourceIds).
func CheckMergeSources(target uuid.UUID, sources []uuid.UUID) error {
	verr := &ValidationError{}
	switch {
	case len(sources) == 0:
		verr.Field("sourceIds", "Must name at least one contact")
	case len(sources) > MaxMergeSources:
		verr.Field("sourceIds", fmt.Sprintf("Must name at most %d contacts", MaxMergeSources))
	}
	seen := map[uuid.UUID]bool{}
	for _, id := range sources {
		switch {
		case id == target:
			verr.Field("sourceIds", MsgMergeTarget)
		case seen[id]:
			verr.Field("sourceIds", "Must not name a contact twice")
		}
		seen[id] = true
	}
	return verr.OrNil()
}

// listItemKeys say when two items of a list field are the same, by the
// field's JSON name; items of any other list are the same when their JSON
// is.
var listItemKeys = map[string]func(item any, region string) string{
	"emails": func(item any, _ string) string { return EmailKey(item.(LabeledValue).Value) },
	"phones": func(item any, region string) string { return PhoneKey(item.(LabeledValue).Value, region) },
	"tags":   func(item any, _ string) string { return TagKey(item.(string)) },
}

// itemKey is the key of one item of list field, namespaced so that a key
// and an item's JSON never collide.
func itemKey(field string, item any, region string) string {
	if f, ok := listItemKeys[field]; ok {
		if k := f(item, region); k != "" {
			return "k" + k
		}
	}
	b, _ := json.Marshal(item) // items are the API's JSON: they encode
	return "j" + string(b)
}

// MergeContacts is target with sources folded into it, as a merge stores
// it. Over every settable field of ContactFields: a list is the union of
// the target's and then each source's items, without two items of the
// same key (EmailKey, PhoneKey, TagKey, else equal JSON), first ones kept;
// any other field keeps the target's value unless it is empty, when it
// takes the first non-empty value among sources, in their order. A
// reference to one of the contacts being merged (the target introduced by
// a source, say) would become a contact referring to itself, so it counts
// as empty. Phone numbers without a country code are read in region.
func MergeContacts(target Contact, sources []Contact, region string) Contact {
	merged := target
	merging := map[uuid.UUID]bool{target.ID: true}
	for _, s := range sources {
		merging[s.ID] = true
	}
	all := append([]Contact{target}, sources...)
	for _, f := range ContactFields.Settable {
		dst := f.value(&merged)
		if dst.Kind() == reflect.Slice {
			dst.Set(unionList(f, all, region))
			continue
		}
		if refersTo(dst, merging) {
			dst.SetZero()
		}
		for i := 0; dst.IsZero() && i < len(sources); i++ {
			if v := f.value(&sources[i]); !refersTo(v, merging) {
				dst.Set(v)
			}
		}
	}
	return merged
}

// unionList is list field f over cs, in order, each key once.
func unionList(f Field[Contact], cs []Contact, region string) reflect.Value {
	out := reflect.MakeSlice(f.Type, 0, 0)
	seen := map[string]bool{}
	for i := range cs {
		list := f.value(&cs[i])
		for j := range list.Len() {
			item := list.Index(j)
			if k := itemKey(f.JSON, item.Interface(), region); !seen[k] {
				seen[k] = true
				out = reflect.Append(out, item)
			}
		}
	}
	return out
}

var contactRef = reflect.TypeFor[*uuid.UUID]()

// refersTo reports whether v is a contact reference to one of ids.
func refersTo(v reflect.Value, ids map[uuid.UUID]bool) bool {
	return v.Type() == contactRef && !v.IsNil() && ids[*v.Interface().(*uuid.UUID)]
}
