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
	docs := v5emb.NewWithConfig(swgui.Config{
		HideCurl: false,
		// swgui hides the Schemas section by default (-1); show it, collapsed.
		SettingsUI: map[string]string{"defaultModelsExpandDepth": "1"},
	})("Remy API", "/openapi.json", "/docs/")
	r.Method(http.MethodGet, "/docs", docs)
	r.Method(http.MethodGet, "/docs/*", docs)
}
