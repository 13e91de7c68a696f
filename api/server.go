// Package api is Remy's HTTP surface: the Huma operations, the middleware in
// front of them and the one error model behind every response.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humachi"
	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/remy-crm/remy/model"
	"github.com/remy-crm/remy/repo"
)

// Config is what the HTTP layer needs to know about its deployment.
type Config struct {
	// PublicURL is the base URL clients use, named in /openapi.json's servers.
	PublicURL string
	// TrustedProxies are the peers whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// Version is reported in /openapi.json's info.
	Version string
}

// Repositories the API calls. They are interfaces so that tests of this
// package can stand in for the database; *repo.Store's members satisfy them.
type (
	keyAuthenticator interface {
		Authenticate(ctx context.Context, secret string) (*model.APIKey, error)
	}
	contactStore interface {
		Create(ctx context.Context, actor model.Actor, c *model.Contact) (*model.Contact, error)
		Get(ctx context.Context, accountID, id uuid.UUID) (*model.Contact, error)
		List(ctx context.Context, accountID uuid.UUID, f model.ContactFilter) (model.Page[model.Contact], error)
		Update(ctx context.Context, actor model.Actor, id uuid.UUID, patch model.ContactPatch, check repo.Precondition) (*model.Contact, error)
		Delete(ctx context.Context, actor model.Actor, id uuid.UUID, check repo.Precondition) error
	}
	noteStore interface {
		Create(ctx context.Context, actor model.Actor, contactID uuid.UUID, n *model.Note) (*model.Note, error)
		Get(ctx context.Context, accountID, id uuid.UUID) (*model.Note, error)
		List(ctx context.Context, accountID, contactID uuid.UUID, f model.NoteFilter) (model.Page[model.Note], error)
		Update(ctx context.Context, actor model.Actor, id uuid.UUID, patch model.NotePatch, check repo.NotePrecondition) (*model.Note, error)
		Delete(ctx context.Context, actor model.Actor, id uuid.UUID, check repo.NotePrecondition) error
	}
	activityStore interface {
		List(ctx context.Context, accountID uuid.UUID, f model.ActivityFilter) (model.Page[model.Activity], error)
	}
	exportStore interface {
		Begin(ctx context.Context, accountID uuid.UUID) (*repo.Snapshot, error)
	}
	pinger interface {
		Ping(ctx context.Context) error
	}
)

type server struct {
	cfg      Config
	log      *slog.Logger
	api      huma.API
	keys     keyAuthenticator
	contacts contactStore
	notes    noteStore
	activity activityStore
	export   exportStore
	db       pinger
}

var configureHuma sync.Once

// New returns the HTTP handler serving the whole API over store.
func New(cfg Config, store *repo.Store, log *slog.Logger) http.Handler {
	configureHuma.Do(func() {
		// Package-level switches of Huma: set once, before any registration.
		huma.NewError = newHumaError
		huma.NewErrorWithContext = newHumaErrorWithContext
		huma.DefaultArrayNullable = false
		huma.ValidateStrictCasing = true
	})
	s := &server{
		cfg:      cfg,
		log:      log,
		keys:     store.Keys,
		contacts: store.Contacts,
		notes:    store.Notes,
		activity: store.Activity,
		export:   store.Export,
		db:       store,
	}
	router := chi.NewRouter()
	router.Use(s.observe)
	router.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, msgNotFoundRoute)
	})
	router.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusMethodNotAllowed, msgMethodNotAllowd)
	})

	s.api = humachi.New(router, s.humaConfig())
	s.api.UseMiddleware(s.authenticate)
	s.routes()
	mountDocs(router)
	return router
}

func (s *server) humaConfig() huma.Config {
	cfg := huma.DefaultConfig("Remy API", s.cfg.Version)
	cfg.Info.Description = apiDescription
	cfg.Info.Contact = &huma.Contact{Name: "Remy support", URL: s.cfg.PublicURL}
	cfg.Info.License = &huma.License{Name: "Proprietary", URL: s.cfg.PublicURL + "/terms"}
	cfg.Servers = []*huma.Server{{URL: s.cfg.PublicURL, Description: "Remy"}}
	cfg.DocsPath = "" // served offline by mountDocs
	cfg.CreateHooks = nil
	cfg.RejectUnknownQueryParameters = true
	cfg.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"bearer": {
			Type:         "http",
			Scheme:       "bearer",
			BearerFormat: "rmy_<key>",
			Description:  "An API key created in Settings → API Keys (or `remy keys create`).",
		},
	}
	return cfg
}

// bearer is the security requirement of every /api/v1 operation.
var bearer = []map[string][]string{{"bearer": {}}}

const apiDescription = `Remy's public REST API: contacts, notes and exports of your own account.

Every /api/v1 request needs ` + "`Authorization: Bearer rmy_…`" + `. Successful responses are
` + "`{\"data\": …}`" + ` (lists add ` + "`\"total\"`" + `); errors are ` + "`{\"error\": \"…\"}`" + `, and validation
errors (422) add ` + "`details.fieldErrors`" + ` and ` + "`details.formErrors`" + `.`
