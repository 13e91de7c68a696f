package model

import (
	"fmt"
	"slices"
	"strings"
)

// Scope is one permission of an API key, "resource:access", in the manner
// of Stripe's restricted keys and GitHub's fine-grained tokens. A key may
// call an operation only if it holds the operation's scope.
type Scope string

// The scopes, in the order they are listed to people.
const (
	ScopeContactsRead  Scope = "contacts:read"
	ScopeContactsWrite Scope = "contacts:write"
	ScopeNotesRead     Scope = "notes:read"
	ScopeNotesWrite    Scope = "notes:write"
	ScopeActivityRead  Scope = "activity:read"
	ScopeExportRead    Scope = "export:read"
	ScopeWebhooksRead  Scope = "webhooks:read"
	ScopeWebhooksWrite Scope = "webhooks:write"
)

// Shorthands accepted by ParseScopes.
const (
	ScopesAllShorthand  = "all"  // every scope
	ScopesReadShorthand = "read" // every :read scope
)

// AllScopes lists every scope in display order.
var AllScopes = Scopes{
	ScopeContactsRead, ScopeContactsWrite,
	ScopeNotesRead, ScopeNotesWrite,
	ScopeActivityRead,
	ScopeExportRead,
	ScopeWebhooksRead, ScopeWebhooksWrite,
}

// Valid reports whether s is a known scope.
func (s Scope) Valid() bool { return slices.Contains(AllScopes, s) }

// implied is the read scope a write scope brings with it ("contacts:write"
// → "contacts:read"), or "" for a read scope.
func (s Scope) implied() Scope {
	if resource, ok := strings.CutSuffix(string(s), ":write"); ok {
		return Scope(resource + ":read")
	}
	return ""
}

// Scopes is the set of scopes a key holds. ParseScopes keeps it expanded
// (implied read scopes included) and in display order.
type Scopes []Scope

// Allows reports whether the set grants s, directly or because it holds the
// write scope of the same resource.
func (ss Scopes) Allows(s Scope) bool {
	for _, have := range ss {
		if have == s || have.implied() == s {
			return true
		}
	}
	return false
}

// String is the set as `keys list` shows it: "all" for every scope,
// otherwise the comma-separated scopes.
func (ss Scopes) String() string {
	if len(ss) == len(AllScopes) && !slices.ContainsFunc(AllScopes, func(s Scope) bool { return !ss.Allows(s) }) {
		return ScopesAllShorthand
	}
	return strings.Join(ss.Names(), ",")
}

// ParseScopes reads a comma-separated list of scopes and shorthands
// ("read", "all"). An unknown name, or none (a blank list is more likely
// an unset variable than a wish for every scope), is an error that lists the
// valid ones. The result is as NewScopes makes it.
func ParseScopes(list string) (Scopes, error) {
	var named Scopes
	for _, name := range strings.Split(list, ",") {
		name = strings.ToLower(strings.TrimSpace(name))
		switch name {
		case "":
			// "a,,b" and a trailing comma are forgiven.
		case ScopesAllShorthand:
			named = append(named, AllScopes...)
		case ScopesReadShorthand:
			for _, s := range AllScopes {
				if s.implied() == "" {
					named = append(named, s)
				}
			}
		default:
			named = append(named, Scope(name))
		}
	}
	if len(named) == 0 {
		return nil, fmt.Errorf("no scope given; %s", validScopes())
	}
	return NewScopes(named...)
}

// NewScopes returns the set holding the given scopes (all of them when none
// is given) and the read scopes their write scopes imply, each once, in
// display order. An unknown scope is an error that lists the valid ones.
func NewScopes(scopes ...Scope) (Scopes, error) {
	if len(scopes) == 0 {
		return slices.Clone(AllScopes), nil
	}
	granted := map[Scope]bool{}
	for _, s := range scopes {
		if !s.Valid() {
			return nil, fmt.Errorf("unknown scope %q; %s", s, validScopes())
		}
		granted[s] = true
		if r := s.implied(); r != "" {
			granted[r] = true
		}
	}
	out := make(Scopes, 0, len(granted))
	for _, s := range AllScopes {
		if granted[s] {
			out = append(out, s)
		}
	}
	return out, nil
}

func validScopes() string {
	return fmt.Sprintf("valid scopes: %s, or the shorthands %q (every :read scope) and %q (every scope)",
		strings.Join(AllScopes.Names(), ", "), ScopesReadShorthand, ScopesAllShorthand)
}

// Names returns the scopes as strings.
func (ss Scopes) Names() []string {
	names := make([]string, len(ss))
	for i, s := range ss {
		names[i] = string(s)
	}
	return names
}
