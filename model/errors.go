// Package model holds Remy's domain types, the update and filter structs the
// repository takes, and the sentinel errors every layer speaks. It imports
// none of Remy's other packages.
package model

import (
	"errors"
	"slices"
	"sort"
	"strings"
)

// Sentinel errors. The repository returns them (wrapped); the API maps each to
// one HTTP status in one place.
var (
	// ErrNotFound: the resource does not exist or belongs to another account.
	// The two cases are deliberately indistinguishable.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the request collides with existing state (a unique key).
	ErrConflict = errors.New("conflict")
	// ErrPreconditionFailed: a conditional write saw a stale version.
	ErrPreconditionFailed = errors.New("precondition failed")
	// ErrUnavailable: the database cannot be reached right now.
	ErrUnavailable = errors.New("service unavailable")
)

// ValidationError is a request that is well-formed but breaks a domain rule.
// Its shape mirrors Zod's flatten(): problems with one field are keyed by the
// field's JSON name, problems with the request as a whole go in Form.
type ValidationError struct {
	Fields map[string][]string
	Form   []string
}

// Field adds a problem with the named field.
func (e *ValidationError) Field(name, msg string) {
	if e.Fields == nil {
		e.Fields = map[string][]string{}
	}
	if !slices.Contains(e.Fields[name], msg) {
		e.Fields[name] = append(e.Fields[name], msg)
	}
}

// merge adds the problems of err, if it is a ValidationError.
func (e *ValidationError) merge(err error) {
	var other *ValidationError
	if !errors.As(err, &other) {
		return
	}
	for name, msgs := range other.Fields {
		for _, m := range msgs {
			e.Field(name, m)
		}
	}
	e.Form = append(e.Form, other.Form...)
}

// Whole adds a problem with the request as a whole.
func (e *ValidationError) Whole(msg string) { e.Form = append(e.Form, msg) }

// Empty reports whether no problem was recorded.
func (e *ValidationError) Empty() bool { return len(e.Fields) == 0 && len(e.Form) == 0 }

// OrNil returns e as an error when it holds a problem, nil otherwise.
func (e *ValidationError) OrNil() error {
	if e.Empty() {
		return nil
	}
	return e
}

func (e *ValidationError) Error() string {
	parts := append([]string(nil), e.Form...)
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		parts = append(parts, k+": "+strings.Join(e.Fields[k], ", "))
	}
	return "validation failed: " + strings.Join(parts, "; ")
}

// FieldError is a one-field ValidationError.
func FieldError(field, msg string) *ValidationError {
	e := &ValidationError{}
	e.Field(field, msg)
	return e
}

// Precondition inspects the current state of a resource before a write, in
// the write's transaction; it returns ErrPreconditionFailed to stop the
// write (If-Match).
type Precondition[T any] func(current *T) error
