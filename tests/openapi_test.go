package tests

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// The document is kept as a golden file: a contract change shows up as a
// diff in review, never by accident. Regenerate with
// `go test ./tests -run TestOpenAPI -update`.
func TestOpenAPI_Golden(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	res := s.do(t, http.MethodGet, "/openapi.json", "", nil)
	wantStatus(t, res, http.StatusOK)
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, res.Body, "", "  "); err != nil {
		t.Fatal(err)
	}
	pretty.WriteByte('\n')
	const golden = "testdata/openapi.golden.json"
	if *update {
		if err := os.WriteFile(golden, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pretty.Bytes(), want) {
		t.Fatalf("/openapi.json differs from %s; if the change is intended, run go test ./tests -run TestOpenAPI -update and review the diff", golden)
	}
}

func TestOpenAPI_Document(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	var doc struct {
		OpenAPI string `json:"openapi"`
		Servers []struct {
			URL string `json:"url"`
		} `json:"servers"`
		Components struct {
			SecuritySchemes map[string]struct{ Type, Scheme string } `json:"securitySchemes"`
		} `json:"components"`
		Paths map[string]map[string]struct {
			OperationID string                `json:"operationId"`
			Summary     string                `json:"summary"`
			Description string                `json:"description"`
			Security    []map[string][]string `json:"security"`
			Responses   map[string]struct {
				Content map[string]struct {
					Schema struct {
						Ref string `json:"$ref"`
					} `json:"schema"`
					Examples map[string]any `json:"examples"`
				} `json:"content"`
			} `json:"responses"`
		} `json:"paths"`
	}
	s.document(t, &doc)
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Errorf("openapi = %q, want 3.1", doc.OpenAPI)
	}
	if len(doc.Servers) != 1 || doc.Servers[0].URL != "http://remy.test" {
		t.Errorf("servers = %+v, want the configured public URL", doc.Servers)
	}
	if b := doc.Components.SecuritySchemes["bearer"]; b.Type != "http" || b.Scheme != "bearer" {
		t.Errorf("bearer security scheme = %+v", b)
	}
	for _, path := range []string{"/api/v1/contacts", "/api/v1/contacts/{id}", "/healthz", "/readyz"} {
		if doc.Paths[path] == nil {
			t.Errorf("path %s is not documented", path)
		}
	}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			name := strings.ToUpper(method) + " " + path
			if op.OperationID == "" || op.Summary == "" || op.Description == "" {
				t.Errorf("%s lacks operationId, summary or description", name)
			}
			has4xx := false
			for code, r := range op.Responses {
				if code[0] != '4' && code[0] != '5' {
					continue
				}
				has4xx = has4xx || code[0] == '4'
				ct := r.Content["application/json"]
				if ct.Schema.Ref != "#/components/schemas/Error" || len(ct.Examples) == 0 {
					t.Errorf("%s %s: error response must be the Error schema with an example", name, code)
				}
			}
			if !has4xx {
				t.Errorf("%s documents no 4xx response", name)
			}
			if strings.HasPrefix(path, "/api/v1/") {
				if len(op.Security) != 1 || op.Security[0]["bearer"] == nil {
					t.Errorf("%s must require the bearer scheme", name)
				}
				if _, ok := op.Responses["401"]; !ok {
					t.Errorf("%s must document 401", name)
				}
			}
		}
	}
}

// /docs renders from assets served by this binary: every script, style and
// image it references is on this host and answers 200.
func TestDocs_Offline(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	res := s.do(t, http.MethodGet, "/docs", "", nil)
	wantStatus(t, res, http.StatusOK)
	if !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("Content-Type = %q", res.Header.Get("Content-Type"))
	}
	html := string(res.Body)
	if !strings.Contains(html, "/openapi.json") {
		t.Fatal("/docs does not load /openapi.json")
	}
	refs := regexp.MustCompile(`(?:src|href)=["']([^"']+)["']`).FindAllStringSubmatch(html, -1)
	if len(refs) < 2 {
		t.Fatalf("expected the page to reference its assets, found %v", refs)
	}
	for _, m := range refs {
		ref := m[1]
		if strings.Contains(ref, "//") {
			t.Errorf("/docs references another host: %s", ref)
			continue
		}
		if !strings.HasPrefix(ref, "/") {
			ref = "/docs/" + ref
		}
		if r := s.do(t, http.MethodGet, ref, "", nil); r.Status != http.StatusOK || len(r.Body) == 0 {
			t.Errorf("asset %s: status %d", ref, r.Status)
		}
	}
	for _, cdn := range []string{"unpkg.com", "jsdelivr", "cdnjs", "googleapis"} {
		if strings.Contains(html, cdn) {
			t.Errorf("/docs mentions %s", cdn)
		}
	}
}
