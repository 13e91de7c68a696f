package api

import (
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/remy-crm/remy/model"
)

// Nullable is a request field that can be absent, null or a value: what a
// partial update needs and Huma does not provide. Its schema is T's, marked
// nullable, so the validation tags on the field apply to the value; a field
// tagged nullable:"false" may be absent or a value, never null.
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

// inputFields pairs each Nullable field of an input struct I with the
// field of the model M that has the same JSON name: the whole mapping from
// a request body to a partial update, worked out once, when the package
// starts (a field with no settable model field of its name, or of a type
// that cannot be converted, panics then).
type inputFields[I, M any] []inputField[M]

type inputField[M any] struct {
	index []int // of the Nullable in I
	model model.Field[M]
}

func pairInput[I, M any]() inputFields[I, M] {
	var pairs inputFields[I, M]
	for _, sf := range reflect.VisibleFields(reflect.TypeFor[I]()) {
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if !strings.HasPrefix(sf.Type.Name(), "Nullable[") || sf.Type.PkgPath() != reflect.TypeFor[Nullable[int]]().PkgPath() || name == "" {
			continue
		}
		f, ok := model.FieldsOf[M]().ByJSON(name)
		if !ok || !f.Settable {
			panic(fmt.Sprintf("api: %s.%s has no settable model field %q", reflect.TypeFor[I]().Name(), sf.Name, name))
		}
		if !convertible(sf.Type.Field(2).Type, f.Type) { // Nullable's Value
			panic(fmt.Sprintf("api: %s.%s cannot be converted to %s", reflect.TypeFor[I]().Name(), sf.Name, f.Type))
		}
		pairs = append(pairs, inputField[M]{index: sf.Index, model: f})
	}
	return pairs
}

// patch is the partial update in: every field that was sent sets the model
// field of its name, null clearing it. A string the model's type does not
// parse is a validation error of its field.
func (pairs inputFields[I, M]) patch(in *I) (model.Patch[M], error) {
	var p model.Patch[M]
	verr := &model.ValidationError{}
	v := reflect.ValueOf(in).Elem()
	values := reflect.ValueOf(&p.Values).Elem()
	for _, pair := range pairs {
		n := v.FieldByIndex(pair.index)
		if !n.Field(0).Bool() { // Sent
			continue
		}
		p.With(pair.model.JSON)
		if n.Field(1).Bool() { // Null
			continue
		}
		value, err := convert(n.Field(2), pair.model.Type)
		if err != nil {
			verr.Field(pair.model.JSON, capitalize(err.Error()))
			continue
		}
		values.FieldByIndex(pair.model.Index()).Set(value)
	}
	return p, verr.OrNil()
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

// convertible reports whether convert turns a from into a to: the same
// type, a pointer to it, a struct with the same fields (EmailInput to
// LabeledValue), a list of such, or a string the type parses
// (encoding.TextUnmarshaler, as model.Date).
func convertible(from, to reflect.Type) bool {
	switch {
	case from.AssignableTo(to):
		return true
	case to.Kind() == reflect.Pointer:
		return convertible(from, to.Elem())
	case from.Kind() == reflect.Slice && to.Kind() == reflect.Slice:
		return convertible(from.Elem(), to.Elem())
	case from.Kind() == reflect.Struct && from.ConvertibleTo(to):
		return true
	}
	return from.Kind() == reflect.String && reflect.PointerTo(to).Implements(textUnmarshaler)
}

// convert turns v into a value of type to (see convertible), or says why
// a string does not parse: a schema can say what a date looks like, not
// which dates exist.
func convert(v reflect.Value, to reflect.Type) (reflect.Value, error) {
	switch {
	case v.Type().AssignableTo(to):
		return v, nil
	case to.Kind() == reflect.Pointer:
		p := reflect.New(to.Elem())
		e, err := convert(v, to.Elem())
		p.Elem().Set(e)
		return p, err
	case v.Kind() == reflect.Slice:
		out := reflect.MakeSlice(to, v.Len(), v.Len())
		for i := range v.Len() {
			e, err := convert(v.Index(i), to.Elem())
			if err != nil {
				return out, err
			}
			out.Index(i).Set(e)
		}
		return out, nil
	case v.Kind() == reflect.Struct:
		return v.Convert(to), nil
	}
	p := reflect.New(to)
	err := p.Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(v.String()))
	return p.Elem(), err
}
