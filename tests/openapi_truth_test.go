package tests

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/remy-crm/remy/model"
)

// jsonDoc is the served document as plain JSON, for path-style lookups.
type jsonDoc = map[string]any

func servedDocument(t *testing.T, s *testServer) jsonDoc {
	t.Helper()
	var doc jsonDoc
	s.document(t, &doc)
	return doc
}

// at walks keys through nested objects; nil when a key is missing.
func at(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func types(schema any) []string {
	switch t := at(schema, "type").(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, x := range t {
			out = append(out, fmt.Sprint(x))
		}
		return out
	}
	return nil
}

func strs(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, x := range list {
		out = append(out, fmt.Sprint(x))
	}
	return out
}

// The schemas say what the server sends: ids are uuids, server-set fields
// are readOnly, what can be null is nullable, closed sets are enums.
func TestOpenAPI_SchemasMatchTheJSON(t *testing.T) {
	t.Parallel()
	doc := servedDocument(t, newServer(t))
	schemas := at(doc, "components", "schemas")
	prop := func(schema, name string) any {
		p := at(schemas, schema, "properties", name)
		if p == nil {
			t.Fatalf("%s.%s is not in the document", schema, name)
		}
		return p
	}
	for _, tt := range []struct {
		schema, field      string
		nullable, readOnly bool
	}{
		{"Contact", "id", false, true},
		{"Contact", "introducedById", true, false},
		{"Note", "id", false, true},
		{"Note", "contactId", false, true},
		{"Deleted", "id", false, true},
		{"Activity", "id", false, true},
		{"Activity", "resourceId", false, true},
		{"Activity", "apiKeyId", true, true},
		{"Account", "id", false, true},
	} {
		p := prop(tt.schema, tt.field)
		if at(p, "format") != "uuid" {
			t.Errorf("%s.%s: format %v, want uuid", tt.schema, tt.field, at(p, "format"))
		}
		if got := slices.Contains(types(p), "null"); got != tt.nullable {
			t.Errorf("%s.%s: nullable %v, want %v", tt.schema, tt.field, got, tt.nullable)
		}
		if got := at(p, "readOnly") == true; got != tt.readOnly {
			t.Errorf("%s.%s: readOnly %v, want %v", tt.schema, tt.field, got, tt.readOnly)
		}
	}
	for _, f := range []string{"givenName", "familyName", "nickname", "company", "jobTitle", "birthday", "introducedById"} {
		if !slices.Contains(types(prop("Contact", f)), "null") {
			t.Errorf("Contact.%s can be null but is not nullable", f)
		}
	}
	for _, f := range []string{"emails", "phones", "addresses", "urls", "tags"} {
		if slices.Contains(types(prop("Contact", f)), "null") {
			t.Errorf("Contact.%s is always a list but is declared nullable", f)
		}
	}
	if !slices.Contains(types(prop("Activity", "changes")), "null") {
		t.Error("Activity.changes is null on created/deleted entries but is not nullable")
	}
	for _, s := range []string{"Contact", "Note"} {
		for _, f := range []string{"createdAt", "updatedAt"} {
			if at(prop(s, f), "readOnly") != true {
				t.Errorf("%s.%s is not readOnly", s, f)
			}
		}
	}
	for field, want := range map[string][]string{"action": model.Actions, "resourceType": model.ResourceTypes, "authMethod": model.AuthMethods} {
		if got := at(prop("Activity", field), "enum"); got == nil || !slices.Equal(strs(got), want) {
			t.Errorf("Activity.%s enum = %v, want %v", field, got, want)
		}
	}
	for _, s := range []string{"Contact", "ContactInput"} {
		// The tags repeat model.DatePattern: a schema says both forms.
		if p := prop(s, "birthday"); at(p, "pattern") != model.DatePattern || at(p, "format") != nil {
			t.Errorf("%s.birthday: pattern %v, format %v; want model.DatePattern and no format", s, at(p, "pattern"), at(p, "format"))
		}
		items := at(prop(s, "tags"), "items")
		if at(items, "minLength") != 1.0 || at(items, "maxLength") != float64(model.MaxTagLength) {
			t.Errorf("%s.tags items = %v, want minLength 1, maxLength %d", s, items, model.MaxTagLength)
		}
	}
	if slices.Contains(types(prop("NoteInput", "body")), "null") {
		t.Error("NoteInput.body allows null, which the server refuses")
	}
	for _, s := range []string{"EmailInput", "PhoneInput"} {
		if !slices.Contains(types(prop(s, "label")), "null") {
			t.Errorf("%s.label refuses null, which the server accepts", s)
		}
	}
}

// Every operation declares every status it can answer, with the headers
// each response carries and an example of the real message.
func TestOpenAPI_ResponsesDeclareStatusesHeadersAndRealMessages(t *testing.T) {
	t.Parallel()
	doc := servedDocument(t, newServer(t))
	examples := func(op any, code string) []string {
		var out []string
		exs, _ := at(op, "responses", code, "content", "application/json", "examples").(map[string]any)
		for _, ex := range exs {
			out = append(out, at(ex, "value", "error").(string))
		}
		slices.Sort(out)
		return out
	}
	ops := map[string]any{}
	for path, item := range at(doc, "paths").(map[string]any) {
		for method, op := range item.(map[string]any) {
			id := at(op, "operationId").(string)
			ops[id] = op
			authenticated := strings.HasPrefix(path, "/api/")
			for code, resp := range at(op, "responses").(map[string]any) {
				name := fmt.Sprintf("%s %s %s", strings.ToUpper(method), path, code)
				headers, _ := at(resp, "headers").(map[string]any)
				want := []string{"X-Request-Id"}
				if authenticated {
					want = append(want, "RateLimit", "RateLimit-Policy")
				}
				switch code {
				case "401":
					want = append(want, "WWW-Authenticate")
				case "429", "503":
					want = append(want, "Retry-After")
				case "405":
					want = append(want, "Allow")
				}
				for h := range headers {
					want = append(want, h)
				}
				for _, h := range want {
					if at(headers, h, "schema") == nil || at(headers, h, "description") == nil {
						t.Errorf("%s: header %s is not declared with schema and description", name, h)
					}
				}
				if code[0] >= '4' && len(examples(op, code)) == 0 {
					t.Errorf("%s: no example", name)
				}
			}
			for _, code := range []string{"405", "500"} {
				if at(op, "responses", code) == nil {
					t.Errorf("%s %s does not declare %s", method, path, code)
				}
			}
			if authenticated {
				for _, code := range []string{"401", "429", "503"} {
					if at(op, "responses", code) == nil {
						t.Errorf("%s %s does not declare %s", method, path, code)
					}
				}
			}
		}
	}
	for _, id := range []string{"getContact", "deleteContact", "updateContact", "getNote", "deleteNote", "updateNote"} {
		if got := examples(ops[id], "400"); !slices.Contains(got, "Malformed id in path: must be a UUID") {
			t.Errorf("%s 400 examples = %q", id, got)
		}
	}
	for _, id := range []string{"getContact", "deleteContact"} {
		if got := examples(ops[id], "400"); slices.ContainsFunc(got, func(s string) bool { return strings.HasPrefix(s, "Malformed JSON") }) {
			t.Errorf("%s has no body, yet its 400 examples show %q", id, got)
		}
	}
	for _, id := range []string{"listNotes", "createNote"} {
		if got := examples(ops[id], "404"); !slices.Equal(got, []string{"Contact not found"}) {
			t.Errorf("%s 404 examples = %q, want Contact not found", id, got)
		}
		if got := examples(ops[id], "400"); !slices.Contains(got, "Malformed contactId in path: must be a UUID") {
			t.Errorf("%s 400 examples = %q", id, got)
		}
	}
	if got := examples(ops["getNote"], "404"); !slices.Equal(got, []string{"Note not found"}) {
		t.Errorf("getNote 404 examples = %q", got)
	}
	if got := examples(ops["readyz"], "503"); !slices.Equal(got, []string{"Database unreachable"}) {
		t.Errorf("readyz 503 examples = %q", got)
	}
	for _, id := range []string{"healthz", "readyz"} {
		if at(ops[id], "responses", "422") != nil {
			t.Errorf("%s declares 422, which it never answers", id)
		}
	}

	used := map[string]bool{}
	for _, op := range ops {
		for _, tag := range strs(at(op, "tags")) {
			used[tag] = true
		}
	}
	declared := map[string]bool{}
	for _, tag := range at(doc, "tags").([]any) {
		if at(tag, "description") == nil || at(tag, "description") == "" {
			t.Errorf("tag %v has no description", at(tag, "name"))
		}
		declared[at(tag, "name").(string)] = true
	}
	for tag := range used {
		if !declared[tag] {
			t.Errorf("tag %s is used but not in the top-level tags", tag)
		}
	}
	scheme := at(doc, "components", "securitySchemes", "bearer", "description").(string)
	if !strings.Contains(scheme, "remy keys create") || strings.Contains(scheme, "Settings") {
		t.Errorf("security scheme text = %q", scheme)
	}
}

// The export's four bodies, each with its real schema, and its headers.
func TestOpenAPI_ExportBodies(t *testing.T) {
	t.Parallel()
	doc := servedDocument(t, newServer(t))
	ok := at(doc, "paths", "/api/v1/export", "get", "responses", "200")
	content := at(ok, "content").(map[string]any)
	var keys []string
	for k := range content {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if !slices.Equal(keys, []string{"application/json", "application/zip", "text/csv", "text/vcard"}) {
		t.Fatalf("export media types = %v", keys)
	}
	for _, mt := range []string{"text/csv", "application/zip", "text/vcard"} {
		s := at(content, mt, "schema")
		if at(s, "type") != "string" || at(s, "contentMediaType") != mt {
			t.Errorf("%s schema = %v, want a string with contentMediaType %s", mt, s, mt)
		}
	}
	ref, _ := at(content, "application/json", "schema", "$ref").(string)
	name := strings.TrimPrefix(ref, "#/components/schemas/")
	data := at(doc, "components", "schemas", name, "properties", "data", "$ref").(string)
	envelope := at(doc, "components", "schemas", strings.TrimPrefix(data, "#/components/schemas/"))
	for _, p := range []string{"exportedAt", "account", "contacts", "notes"} {
		if at(envelope, "properties", p) == nil {
			t.Errorf("export envelope lacks %s: %v", p, envelope)
		}
	}
	required := strs(at(envelope, "required"))
	if slices.Contains(required, "contacts") || slices.Contains(required, "notes") {
		t.Errorf("contacts and notes are omitted by resource=, yet required: %v", required)
	}
	if at(ok, "headers", "Content-Disposition", "schema") == nil {
		t.Error("Content-Disposition is not declared")
	}
	if at(ok, "headers", "Content-Type") != nil {
		t.Error("Content-Type is declared as a header; OpenAPI ignores it there")
	}
}

// A null label means no label, as the schema now says.
func TestContacts_NullLabel(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a := s.newTenant(t)
	c := s.createContact(t, a.Key, map[string]any{
		"emails": []map[string]any{{"value": "ada@example.com", "label": nil}},
		"phones": []map[string]any{{"value": "+44 1234", "label": nil}},
	})
	if fmt.Sprint(c["emails"], c["phones"]) != "[map[label: value:ada@example.com]] [map[label: value:+44 1234]]" {
		t.Fatalf("labels: %v %v", c["emails"], c["phones"])
	}
}

// Tools that read only OpenAPI 3.0 get Huma's downgrade: it must be a valid
// document too.
func TestOpenAPI_Downgrade30IsValid(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	res := s.do(t, http.MethodGet, "/openapi-3.0.json", "", nil)
	wantStatus(t, res, http.StatusOK)
	doc, err := openapi3.NewLoader().LoadFromData(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("/openapi-3.0.json: %v", err)
	}
}
