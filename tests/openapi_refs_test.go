package tests

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// inlineRefs returns the served document with every reference to a shared
// response or header (components.responses, components.headers) replaced
// by what it refers to, so that tests reading an operation's responses see
// them whole, as a generator does. Schema references stay as they are.
func inlineRefs(t testing.TB, body []byte) []byte {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	components, _ := doc["components"].(map[string]any)
	var resolve func(v any) any
	resolve = func(v any) any {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok && len(v) == 1 {
				for _, kind := range []string{"responses", "headers"} {
					if name, ok := strings.CutPrefix(ref, "#/components/"+kind+"/"); ok {
						target, _ := components[kind].(map[string]any)[name]
						if target == nil {
							t.Fatalf("%s refers to nothing", ref)
						}
						return resolve(target)
					}
				}
			}
			out := make(map[string]any, len(v))
			for k, x := range v {
				out[k] = resolve(x)
			}
			return out
		case []any:
			out := make([]any, len(v))
			for i, x := range v {
				out[i] = resolve(x)
			}
			return out
		}
		return v
	}
	b, err := json.Marshal(resolve(doc))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The document says each shared response and header once, under
// components, and is small enough to read (issue 17: under 150 KB).
// Headers whose value a proxy or RFC 6750 may extend are strings with
// examples, not enums a generated decoder would enforce.
func TestOpenAPI_SharedComponents(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	res := s.do(t, http.MethodGet, "/openapi.json", "", nil)
	wantStatus(t, res, http.StatusOK)
	if len(res.Body) >= 150<<10 {
		t.Errorf("/openapi.json is %d bytes, want under 150 KB", len(res.Body))
	}
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string `json:"operationId"`
			Responses   map[string]struct {
				Ref     string                     `json:"$ref"`
				Headers map[string]json.RawMessage `json:"headers"`
			} `json:"responses"`
		} `json:"paths"`
		Components struct {
			Responses map[string]json.RawMessage `json:"responses"`
			Headers   map[string]json.RawMessage `json:"headers"`
		} `json:"components"`
	}
	if err := json.Unmarshal(res.Body, &doc); err != nil {
		t.Fatal(err)
	}
	shared := []string{"RateLimit", "RateLimit-Policy", "Retry-After", "X-Request-Id", "Cache-Control", "X-Content-Type-Options", "WWW-Authenticate"}
	for _, name := range shared {
		raw, ok := doc.Components.Headers[name]
		if !ok {
			t.Errorf("components.headers lacks %s", name)
			continue
		}
		var h struct {
			Schema map[string]any `json:"schema"`
		}
		if err := json.Unmarshal(raw, &h); err != nil {
			t.Fatal(err)
		}
		if _, ok := h.Schema["enum"]; ok {
			t.Errorf("header %s is an enum: %v", name, h.Schema)
		}
	}
	for _, name := range []string{"Unauthorized", "MethodNotAllowed", "RequestTimeout", "ServiceUnavailable", "TooManyRequests", "InternalServerError",
		"ForbiddenContactsWrite", "NotFoundContact", "PreconditionFailedContact", "UnprocessableEntityGivenName"} {
		if _, ok := doc.Components.Responses[name]; !ok {
			t.Errorf("components.responses lacks %s", name)
		}
	}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			for code, r := range op.Responses {
				if code == "401" && r.Ref != "#/components/responses/Unauthorized" {
					t.Errorf("%s %s 401 is not the shared Unauthorized response", method, path)
				}
				for _, name := range shared {
					// An operation may say something of its own (the
					// export's Cache-Control), not repeat the shared one.
					if h, ok := r.Headers[name]; ok && string(h) == string(doc.Components.Headers[name]) {
						t.Errorf("%s %s %s repeats the shared %s inline", method, path, code, name)
					}
				}
			}
		}
	}
}
