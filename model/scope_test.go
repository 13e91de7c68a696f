package model

import (
	"strings"
	"testing"
)

func TestParseScopes(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   string
		want string // Scopes.String()
	}{
		{"all", "all"},
		{"read", "contacts:read,notes:read,activity:read,export:read,webhooks:read"},
		{"contacts:read", "contacts:read"},
		{"contacts:write", "contacts:read,contacts:write"},
		{" notes:write , contacts:read,", "contacts:read,notes:read,notes:write"},
		{"export:read,contacts:read,export:read", "contacts:read,export:read"},
		{"read,contacts:write,notes:write,webhooks:write", "all"},
		{"Contacts:Read", "contacts:read"},
	} {
		got, err := ParseScopes(tt.in)
		if err != nil {
			t.Errorf("ParseScopes(%q): %v", tt.in, err)
			continue
		}
		if got.String() != tt.want {
			t.Errorf("ParseScopes(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
	for _, bad := range []string{"contacts", "contacts:delete", "admin", "read,bogus", ",", "", " ", "contacts:read;notes:read"} {
		_, err := ParseScopes(bad)
		if err == nil {
			t.Errorf("ParseScopes(%q) accepted", bad)
			continue
		}
		for _, s := range AllScopes {
			if !strings.Contains(err.Error(), string(s)) {
				t.Errorf("ParseScopes(%q) error does not list %s: %v", bad, s, err)
			}
		}
	}
}

func TestScopes_Allows(t *testing.T) {
	t.Parallel()
	ss := Scopes{ScopeContactsWrite, ScopeExportRead}
	for s, want := range map[Scope]bool{
		ScopeContactsWrite: true,
		ScopeContactsRead:  true, // implied by contacts:write
		ScopeExportRead:    true,
		ScopeNotesRead:     false,
		ScopeNotesWrite:    false,
		ScopeActivityRead:  false,
		ScopeWebhooksRead:  false,
	} {
		if got := ss.Allows(s); got != want {
			t.Errorf("Allows(%s) = %v, want %v", s, got, want)
		}
	}
	// Read never implies write.
	if (Scopes{ScopeNotesRead}).Allows(ScopeNotesWrite) {
		t.Error("notes:read allows notes:write")
	}
	if (Scopes{}).Allows(ScopeContactsRead) {
		t.Error("the empty set allows something")
	}
}
