package api

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"sync"

	"github.com/danielgtaylor/huma/v2"

	"github.com/go-chi/chi/v5"
	"github.com/swaggest/swgui"
	"github.com/swaggest/swgui/v5emb"
)

// mountDocs serves Swagger UI at /docs from assets embedded in the binary
// (the swgui module), so the page makes no request to any other host.
func mountDocs(r chi.Router) {
	docs := v5emb.NewWithConfig(swgui.Config{
		HideCurl: false,
		// swgui hides the Schemas section by default (-1); show it, collapsed.
		SettingsUI: map[string]string{"defaultModelsExpandDepth": "1"},
	})("Remy API", "/openapi.json", "/docs/")
	r.Method(http.MethodGet, "/docs", jsonNotFound(docs))
	r.Method(http.MethodGet, "/docs/*", jsonNotFound(docs))
}

// jsonNotFound gives the docs' file server Remy's JSON 404 for an unknown
// asset (a probe such as /docs/../../etc/passwd) instead of its plain text.
func jsonNotFound(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&notFoundWriter{ResponseWriter: w, ctx: r.Context()}, r)
	})
}

type notFoundWriter struct {
	http.ResponseWriter
	ctx      context.Context
	replaced bool
}

func (w *notFoundWriter) WriteHeader(code int) {
	if code == http.StatusNotFound {
		w.replaced = true
		w.Header().Del("Content-Length")
		writeError(w.ctx, w.ResponseWriter, newError(code, msgNotFoundRoute))
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *notFoundWriter) Write(b []byte) (int, error) {
	if w.replaced {
		return len(b), nil // the file server's own text
	}
	return w.ResponseWriter.Write(b)
}

// mountDowngrade replaces Huma's /openapi-3.0.json with its downgrade minus
// the 3.1-only keywords it leaves behind (license identifier,
// contentMediaType), so tools that read only 3.0 get a valid document.
func mountDowngrade(r chi.Router, oapi *huma.OpenAPI) {
	doc := sync.OnceValues(func() ([]byte, error) {
		b, err := oapi.Downgrade()
		if err != nil {
			return nil, err
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			return nil, err
		}
		strip30(v)
		if m, ok := v.(map[string]any); ok {
			delete(m, "webhooks") // 3.1 only; its payload schemas stay in components
		}
		return json.Marshal(v)
	})
	r.Get("/openapi-3.0.json", func(w http.ResponseWriter, r *http.Request) {
		b, err := doc()
		if err != nil {
			writeError(r.Context(), w, err)
			return
		}
		w.Header().Set("Content-Type", "application/vnd.oai.openapi+json")
		_, _ = w.Write(b)
	})
}

// strip30 removes, in place, the keywords OpenAPI 3.0 does not have.
func strip30(v any) {
	switch v := v.(type) {
	case map[string]any:
		if lic, ok := v["license"].(map[string]any); ok {
			delete(lic, "identifier")
		}
		delete(v, "contentMediaType")
		// A {"type": "null"} choice is 3.0's nullable.
		if choices, ok := v["oneOf"].([]any); ok {
			v["oneOf"] = slices.DeleteFunc(choices, func(c any) bool {
				m, _ := c.(map[string]any)
				if len(m) == 1 && m["type"] == "null" {
					v["nullable"] = true
					return true
				}
				return false
			})
		}
		for _, x := range v {
			strip30(x)
		}
	case []any:
		for _, x := range v {
			strip30(x)
		}
	}
}
