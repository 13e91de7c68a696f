package tests

import (
	"testing"
)

// TestOpenAPI_NotesExportActivity checks that the operations of this issue
// are in the published document with their enums and formats.
func TestOpenAPI_NotesExportActivity(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string `json:"operationId"`
			Parameters  []struct {
				Name   string `json:"name"`
				Schema struct {
					Enum   []string `json:"enum"`
					Format string   `json:"format"`
				} `json:"schema"`
			} `json:"parameters"`
			Responses map[string]struct {
				Content map[string]any `json:"content"`
			} `json:"responses"`
		} `json:"paths"`
	}
	s.document(t, &doc)
	for path, ops := range map[string]map[string]string{
		"/api/v1/contacts/{contactId}/notes": {"get": "listNotes", "post": "createNote"},
		"/api/v1/notes/{id}":                 {"get": "getNote", "patch": "updateNote", "delete": "deleteNote"},
		"/api/v1/export":                     {"get": "exportAccount"},
		"/api/v1/activity":                   {"get": "listActivity"},
	} {
		for method, id := range ops {
			if got := doc.Paths[path][method].OperationID; got != id {
				t.Errorf("%s %s: operationId %q, want %q", method, path, got, id)
			}
		}
	}
	params := map[string]string{}
	for _, p := range append(doc.Paths["/api/v1/export"]["get"].Parameters, doc.Paths["/api/v1/activity"]["get"].Parameters...) {
		params[p.Name] = p.Schema.Format
		if len(p.Schema.Enum) > 0 {
			params[p.Name] = "enum"
		}
	}
	for name, want := range map[string]string{"format": "enum", "resource": "enum", "since": "date-time", "resourceId": "uuid"} {
		if params[name] != want {
			t.Errorf("parameter %s: %q, want %q", name, params[name], want)
		}
	}
	content := doc.Paths["/api/v1/export"]["get"].Responses["200"].Content
	for _, ct := range []string{"application/json", "text/csv", "application/zip"} {
		if _, ok := content[ct]; !ok {
			t.Errorf("export 200 does not document %s: %v", ct, content)
		}
	}
}
