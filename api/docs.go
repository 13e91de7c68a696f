package api

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/swaggest/swgui"
	"github.com/swaggest/swgui/v5emb"
)

// mountDocs serves Swagger UI at /docs from assets embedded in the binary
// (the swgui module), so the page makes no request to any other host.
func mountDocs(r chi.Router) {
	docs := v5emb.NewWithConfig(swgui.Config{HideCurl: false})("Remy API", "/openapi.json", "/docs/")
	r.Method(http.MethodGet, "/docs", jsonNotFound(docs))
	r.Method(http.MethodGet, "/docs/*", jsonNotFound(docs))
}

// jsonNotFound gives the docs' file server Remy's JSON 404 for an unknown
// asset (a probe such as /docs/../../etc/passwd) instead of its plain text.
func jsonNotFound(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&notFoundWriter{ResponseWriter: w}, r)
	})
}

type notFoundWriter struct {
	http.ResponseWriter
	replaced bool
}

func (w *notFoundWriter) WriteHeader(code int) {
	if code == http.StatusNotFound {
		w.replaced = true
		w.Header().Del("Content-Length")
		writeError(w.ResponseWriter, code, msgNotFoundRoute)
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
