package model

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
)

// Field is one column of a resource, described from its struct field's
// tags: the API's name for it (json), the column (bun), and whether a
// client may set it. Every layer that lists a resource's fields (the SQL
// column lists and their arguments, scan targets, partial updates, the
// Activity Log's changes, CSV export) iterates one of these tables rather
// than naming the fields, so a new column is a migration, a struct field
// and an input field.
type Field[T any] struct {
	// JSON is the field's name in the API ("jobTitle"); "" when the API
	// does not show it.
	JSON string
	// Column is the field's column ("job_title").
	Column string
	// Settable: a client sets it (it is shown, and not tagged readOnly).
	Settable bool
	// Type is the Go type of the field.
	Type  reflect.Type
	index []int
}

// Index is the field's index sequence in T (reflect.Value.FieldByIndex).
func (f Field[T]) Index() []int { return f.index }

// Addr is a pointer to the field of v: a scan target.
func (f Field[T]) Addr(v *T) any { return f.value(v).Addr().Interface() }

// Get is the field's value in v.
func (f Field[T]) Get(v *T) any { return f.value(v).Interface() }

func (f Field[T]) value(v *T) reflect.Value { return reflect.ValueOf(v).Elem().FieldByIndex(f.index) }

// copy sets the field of dst to its value in src; a list is copied, so the
// two never share an array.
func (f Field[T]) copy(dst, src *T) {
	s := f.value(src)
	if s.Kind() == reflect.Slice && !s.IsNil() {
		c := reflect.MakeSlice(s.Type(), s.Len(), s.Len())
		reflect.Copy(c, s)
		s = c
	}
	f.value(dst).Set(s)
}

// Fields is the table of T's columns, in the struct's order.
type Fields[T any] struct {
	All      []Field[T]
	Settable []Field[T]
	byJSON   map[string]int
	byColumn map[string]int
}

// ByJSON finds the field the API calls name.
func (fs *Fields[T]) ByJSON(name string) (Field[T], bool) {
	i, ok := fs.byJSON[name]
	if !ok {
		return Field[T]{}, false
	}
	return fs.All[i], true
}

// ByColumn finds the field stored in column.
func (fs *Fields[T]) ByColumn(column string) (Field[T], bool) {
	i, ok := fs.byColumn[column]
	if !ok {
		return Field[T]{}, false
	}
	return fs.All[i], true
}

// Columns are the column names of fields, in order.
func Columns[T any](fields []Field[T]) []string {
	cols := make([]string, len(fields))
	for i, f := range fields {
		cols[i] = f.Column
	}
	return cols
}

var fieldTables sync.Map // reflect.Type → *Fields[T]

// FieldsOf describes T's columns, once per type, from the bun and json tags
// of its fields (bun.BaseModel and untagged fields are not columns).
func FieldsOf[T any]() *Fields[T] {
	t := reflect.TypeFor[T]()
	if fs, ok := fieldTables.Load(t); ok {
		return fs.(*Fields[T])
	}
	fs := &Fields[T]{byJSON: map[string]int{}, byColumn: map[string]int{}}
	for _, sf := range reflect.VisibleFields(t) {
		column, _, _ := strings.Cut(sf.Tag.Get("bun"), ",")
		if column == "" || sf.Anonymous || !sf.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "-" {
			name = ""
		}
		f := Field[T]{JSON: name, Column: column, Type: sf.Type, index: sf.Index,
			Settable: name != "" && sf.Tag.Get("readOnly") != "true"}
		if name != "" {
			fs.byJSON[name] = len(fs.All)
		}
		fs.byColumn[column] = len(fs.All)
		fs.All = append(fs.All, f)
		if f.Settable {
			fs.Settable = append(fs.Settable, f)
		}
	}
	actual, _ := fieldTables.LoadOrStore(t, fs)
	return actual.(*Fields[T])
}

// Patch is a partial update of a T (PATCH semantics): each settable field
// named in Set (by its JSON name) takes its value from Values, where a zero
// value (nil) clears it; every other field is left alone.
type Patch[T any] struct {
	Values T
	Set    []string
}

// With names field (a JSON name) as set to its value in p.Values.
func (p *Patch[T]) With(field string) {
	if !slices.Contains(p.Set, field) {
		p.Set = append(p.Set, field)
	}
}

// Assign writes the set fields of the patch onto v, as they are.
func (p Patch[T]) Assign(v *T) {
	fs := FieldsOf[T]()
	for _, name := range p.Set {
		f, ok := fs.ByJSON(name)
		if !ok || !f.Settable {
			panic(fmt.Sprintf("model: %T has no settable field %q", v, name))
		}
		f.copy(v, &p.Values)
	}
}

// Apply writes the patch onto v, normalises the result and returns the
// fields whose stored value changed, keyed by JSON name.
func (p Patch[T]) Apply(v *T) (map[string]Change, error) {
	before := *v
	p.Assign(v)
	if n, ok := any(v).(interface{ Normalize() error }); ok {
		if err := n.Normalize(); err != nil {
			return nil, err
		}
	}
	return Diff(&before, v), nil
}

// Diff is every settable field whose value differs between before and
// after, keyed by JSON name, as the Activity Log records it.
func Diff[T any](before, after *T) map[string]Change {
	changes := map[string]Change{}
	for _, f := range FieldsOf[T]().Settable {
		b, a := f.value(before), f.value(after)
		if !sameValue(b, a) {
			changes[f.JSON] = Change{Before: b.Interface(), After: a.Interface()}
		}
	}
	return changes
}

// sameValue compares two values of a field; an empty list is the same
// whether nil or not.
func sameValue(a, b reflect.Value) bool {
	switch {
	case a.Kind() == reflect.Pointer && a.Type().Elem().Comparable():
		return a.IsNil() == b.IsNil() && (a.IsNil() || a.Elem().Equal(b.Elem()))
	case a.Kind() == reflect.Slice && a.Type().Elem().Comparable():
		if a.Len() != b.Len() {
			return false
		}
		for i := range a.Len() {
			if !a.Index(i).Equal(b.Index(i)) {
				return false
			}
		}
		return true
	case a.Type().Comparable():
		return a.Equal(b)
	case a.Kind() == reflect.Slice && a.Len() == 0 && b.Len() == 0:
		return true
	}
	return reflect.DeepEqual(a.Interface(), b.Interface())
}

// Change is one field's value before and after an update, as the Activity
// Log records it.
type Change struct {
	Before any `json:"before"`
	After  any `json:"after"`
}

// Optional is one field of a partial update whose fields are named in Go
// (notes, webhooks). Unset leaves the stored value alone; Set with a nil
// Value clears it; Set with a Value replaces it.
type Optional[T any] struct {
	Set   bool
	Value *T
}

// Some returns an Optional that sets v.
func Some[T any](v T) Optional[T] { return Optional[T]{Set: true, Value: &v} }
