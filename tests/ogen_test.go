package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGeneratedClient_Ogen generates a Go client and server from the served
// /openapi.json with ogen (the go.mod tool, which reads OpenAPI 3.1) and
// compiles and vets them, in a module of their own that requires what this
// repository's go.mod requires (ogen's runtime is among them, as the tool's
// own dependencies), so nothing is downloaded. Then testdata/ogencheck
// drives the client against the server: typed changes, a 401, and headers
// a proxy extended.
func TestGeneratedClient_Ogen(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	tn := s.newTenant(t)
	contact := s.createContact(t, tn.Key, map[string]any{"givenName": "Ada", "company": "Analytical Engines"})
	dir := t.TempDir()
	doc := served(t, s, "/openapi.json", dir)

	mod := filepath.Join(dir, "mod")
	if err := os.MkdirAll(mod, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"go.mod", "go.sum"} {
		b, err := os.ReadFile(filepath.Join("..", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(mod, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	runIn(t, mod, nil, "go", "mod", "edit", "-module", "ogencheck")
	runIn(t, ".", nil, "go", "tool", "ogen", "-clean", "-package", "remy", "-target", filepath.Join(mod, "remy"), doc)
	check, err := os.ReadFile(filepath.Join("testdata", "ogencheck", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(mod, "ogencheck"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mod, "ogencheck", "main.go"), check, 0o644); err != nil {
		t.Fatal(err)
	}
	runIn(t, mod, nil, "go", "vet", "./...")
	out := runIn(t, mod, []string{"REMY_URL=" + s.URL, "REMY_KEY=" + tn.Key, "REMY_CONTACT=" + contact["id"].(string)},
		"go", "run", "./ogencheck")
	if !strings.Contains(out, "ogen client OK") {
		t.Fatalf("ogencheck: %s", out)
	}
}
