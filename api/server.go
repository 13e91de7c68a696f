// Package api is Remy's HTTP surface: the Huma operations, the middleware in
// front of them and the one error model behind every response.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humachi"
	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/singleflight"

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

	// RateLimitRPS is the sustained requests per second allowed per API key
	// (and per client IP for requests that fail authentication); 0 turns
	// rate limiting off.
	RateLimitRPS float64
	// RateLimitBurst is how many requests a full bucket allows at once.
	RateLimitBurst int
	// Redis, if set, holds the rate-limit buckets so that every instance
	// shares them; while it fails, each process limits on its own.
	Redis *redis.Client
	// RateLimitPrefix prefixes the Redis keys of the buckets (default
	// "remy:"), so deployments or tests can share one Redis.
	RateLimitPrefix string

	// Metrics receives the request, pool and rate-limit numbers; nil makes
	// a set of its own over the store's pool.
	Metrics *Metrics
	// MetricsElsewhere keeps /metrics off this handler, because it is
	// served on its own listener (REMY_METRICS_ADDR).
	MetricsElsewhere bool
	// RequestTimeout bounds every request but exports, which have their own
	// stall rule: past it, work on the database is cancelled and the
	// client gets a 503. 0 means DefaultRequestTimeout.
	RequestTimeout time.Duration
}

// DefaultRequestTimeout is Config.RequestTimeout's default.
const DefaultRequestTimeout = 10 * time.Second

// Deps are what the API runs on. Store is the database: the API uses its
// repositories directly, except the four that this package's tests stand in
// for (they take and return only model types); those default to Store's.
type Deps struct {
	Store *repo.Store
	// Log receives the request log and internal errors; nil is slog.Default().
	Log *slog.Logger

	Keys     KeyAuthenticator
	Contacts ContactStore
	Notes    NoteStore
	Activity ActivityStore
}

// The repositories the API reaches through an interface, so that tests of
// this package can run the real handler without a database.
type (
	// KeyAuthenticator finds the API key a bearer secret belongs to.
	KeyAuthenticator interface {
		Authenticate(ctx context.Context, secret string) (*model.APIKey, error)
	}
	// ContactStore keeps contacts.
	ContactStore interface {
		Create(ctx context.Context, actor model.Actor, c *model.Contact) (*model.Contact, error)
		Get(ctx context.Context, accountID, id uuid.UUID) (*model.Contact, error)
		List(ctx context.Context, accountID uuid.UUID, f model.ContactFilter) (model.Page[model.Contact], error)
		Update(ctx context.Context, actor model.Actor, id uuid.UUID, patch model.ContactPatch, check model.Precondition[model.Contact]) (*model.Contact, error)
		Delete(ctx context.Context, actor model.Actor, id uuid.UUID, check model.Precondition[model.Contact]) error
	}
	// NoteStore keeps notes.
	NoteStore interface {
		Create(ctx context.Context, actor model.Actor, contactID uuid.UUID, n *model.Note) (*model.Note, error)
		Get(ctx context.Context, accountID, id uuid.UUID) (*model.Note, error)
		List(ctx context.Context, accountID, contactID uuid.UUID, f model.NoteFilter) (model.Page[model.Note], error)
		Update(ctx context.Context, actor model.Actor, id uuid.UUID, patch model.NotePatch, check model.Precondition[model.Note]) (*model.Note, error)
		Delete(ctx context.Context, actor model.Actor, id uuid.UUID, check model.Precondition[model.Note]) error
	}
	// ActivityStore reads the Activity Log.
	ActivityStore interface {
		List(ctx context.Context, accountID uuid.UUID, f model.ActivityFilter) (model.Page[model.Activity], error)
	}
)

type server struct {
	cfg      Config
	log      *slog.Logger
	api      huma.API
	router   http.Handler
	limiter  *rateLimiter // nil: no rate limits
	store    *repo.Store
	keys     KeyAuthenticator
	contacts ContactStore
	notes    NoteStore
	activity ActivityStore
	metrics  *Metrics

	waiters     feedWaiters        // long-polls and streams of each key
	feedReads   singleflight.Group // reads shared by woken waiters (sharedFeedPage)
	exportSlots chan struct{}      // one token per running export
	admitted    chan struct{}      // one token per running operation (see admission); nil: no queue
}

var configureHuma sync.Once

// New returns the HTTP handler serving the whole API over deps.
func New(cfg Config, deps Deps) http.Handler { return newServer(cfg, deps).router }

// newServer builds the server and its router: New's work, for this
// package's tests to reach the parts.
func newServer(cfg Config, deps Deps) *server {
	s := &server{
		cfg:      cfg,
		log:      deps.Log,
		store:    deps.Store,
		keys:     deps.Keys,
		contacts: deps.Contacts,
		notes:    deps.Notes,
		activity: deps.Activity,
		metrics:  cfg.Metrics,

		exportSlots: make(chan struct{}, maxConcurrentExports),
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.limiter = newRateLimiter(cfg, s.log)
	if st := deps.Store; st != nil {
		if s.keys == nil {
			s.keys = st.Keys
		}
		if s.contacts == nil {
			s.contacts = st.Contacts
		}
		if s.notes == nil {
			s.notes = st.Notes
		}
		if s.activity == nil {
			s.activity = st.Activity
		}
		if s.metrics == nil {
			s.metrics = NewMetrics(st.DB.DB)
		}
		s.metrics.watchFeed(st.Feed)
		// As many operations run at once as the pool really has
		// connections; a pool without a limit needs no queue.
		if n := st.DB.DB.Stats().MaxOpenConnections; n > 0 {
			s.admitted = make(chan struct{}, n)
		}
	}
	s.router = s.handler()
	return s
}

// handler builds the router and registers every operation over s's
// dependencies.
func (s *server) handler() http.Handler {
	configureHuma.Do(func() {
		// Package-level switches of Huma: set once, before any registration.
		huma.NewError = newHumaError
		huma.NewErrorWithContext = newHumaErrorWithContext
		huma.DefaultArrayNullable = false
		huma.ValidateStrictCasing = true
	})
	router := chi.NewRouter()
	router.Use(s.observe, s.deadline)
	if s.metrics != nil && !s.cfg.MetricsElsewhere {
		// Outside Huma, so no API key: scrapers are kept out by the network.
		router.Method(http.MethodGet, "/metrics", s.metrics.Handler())
	}
	router.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeError(r.Context(), w, newError(http.StatusNotFound, msgNotFoundRoute))
	})
	router.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		allow := strings.Join(allowedMethods(router, r.URL.Path), ", ")
		writeError(r.Context(), w, newError(http.StatusMethodNotAllowed, msgMethodNotAllowed).withHeader("Allow", allow))
	})

	s.api = humachi.New(router, s.humaConfig())
	// Order matters: who is calling, then their rate limit, then the queue
	// for the database, then (for operations that take one) the
	// Idempotency-Key.
	s.api.UseMiddleware(s.authenticate, s.rateLimit, s.admission, s.idempotency)
	s.routes()
	documentEnums(s.api.OpenAPI())
	documentPayloads(s.api.OpenAPI())
	shareComponents(s.api.OpenAPI())
	mountDocs(router)
	mountDowngrade(router, s.api.OpenAPI())
	return router
}

// allowedMethods lists the methods routed for path, for a 405's Allow header.
func allowedMethods(router chi.Router, path string) []string {
	var allowed []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if router.Match(chi.NewRouteContext(), m, path) {
			allowed = append(allowed, m)
		}
	}
	return allowed
}

func (s *server) humaConfig() huma.Config {
	cfg := huma.DefaultConfig("Remy API", s.cfg.Version)
	cfg.Info.Description = apiDescription
	cfg.Info.License = &huma.License{Name: "Proprietary", Identifier: "LicenseRef-Remy-Proprietary"}
	cfg.Servers = []*huma.Server{{URL: s.cfg.PublicURL, Description: "Remy"}}
	cfg.DocsPath = "" // served offline by mountDocs
	cfg.CreateHooks = nil
	cfg.Components.Schemas = huma.NewMapRegistry("#/components/schemas/", schemaName)
	cfg.Formats = map[string]huma.Format{"application/json": jsonFormat, "json": jsonFormat}
	cfg.RejectUnknownQueryParameters = true
	// Enums first: the error examples quote them.
	cfg.OnAddOperation = append(cfg.OnAddOperation, documentParamEnums, documentErrorExamples)
	cfg.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"bearer": {
			Type:         "http",
			Scheme:       "bearer",
			BearerFormat: "rmy_<key>",
			Description: "An API key, made on the server with `remy keys create --account EMAIL [--name NAME] [--scopes LIST]` " +
				"(`remy dev` prints a demo key); send it as `Authorization: Bearer rmy_…`. " +
				"Each key holds scopes, and each operation names the one it needs in its security requirement: " +
				scopeList + ". `contacts:write` implies `contacts:read`, and so on for each resource. " +
				"A key without the operation's scope gets a 403 naming the missing scope.",
		},
	}
	cfg.Tags = []*huma.Tag{
		{Name: "Contacts", Description: "People in the account's contact book."},
		{Name: "Notes", Description: "Free text attached to one contact."},
		{Name: "Activity", Description: "The Activity Log: one entry per change, for auditing and polling."},
		{Name: "Events", Description: "The change feed: every change, in commit order, each exactly once, as webhooks deliver it; by polling, long-polling or Server-Sent Events."},
		{Name: "Tags", Description: "The tags the account's contacts carry, with counts; tags are set through the contact resource."},
		{Name: "Export", Description: "Everything the account owns, as JSON, CSV or a zip of CSV files."},
		{Name: "Operations", Description: "Liveness and readiness probes for load balancers and orchestrators; no API key."},
	}
	return cfg
}

var apiDescription = `Remy's public REST API: contacts, notes and exports of your own account.

Every /api/v1 request needs ` + "`Authorization: Bearer rmy_…`" + `. Successful responses are
` + "`{\"data\": …}`" + ` (lists add ` + "`\"total\"`" + `); errors are ` + "`{\"error\": \"…\"}`" + `, and validation
errors (422) add ` + "`details.fieldErrors`" + ` and ` + "`details.formErrors`" + `.

Safe retries: single resources carry a strong ` + "`ETag`" + `; send it in ` + "`If-Match`" + ` on PATCH,
DELETE and merge to change only that version (412 otherwise) and in ` + "`If-None-Match`" + ` on GET to
get a 304. POSTs that create, and merges, accept an ` + "`Idempotency-Key`" + ` header (1–255 characters,
kept 24 hours per account): a retry replays the first response with ` + "`Idempotent-Replayed: true`" + `.

Scopes: each API key holds scopes (` + "`remy keys create --scopes contacts:read,notes:read`" + `;
by default ` + "`all`" + `), and each operation names the scope it needs in its security requirement.
A key that lacks it gets ` + "`403 {\"error\":\"This API key does not have the contacts:write scope\"}`" + `
(after authentication, so a bad key is still a 401, and before anything is read or written).
The scopes: ` + scopeList + `; a ` + "`:write`" + ` scope implies the ` + "`:read`" + ` scope of the same resource.

Rate limits: a token bucket per API key; every response says where you stand in
` + "`RateLimit-Policy`" + ` and ` + "`RateLimit`" + ` (draft-ietf-httpapi-ratelimit-headers-10), and a 429 says
when to come back in ` + "`Retry-After`" + `.`

// documentEnums gives the closed sets of the Activity Log and of duplicate
// groups their enums from model's lists, so a new action or reason cannot
// be left out of the document.
func documentEnums(oapi *huma.OpenAPI) {
	for schema, props := range map[string]map[string][]string{
		"Activity": {
			"action":       model.Actions,
			"resourceType": model.ResourceTypes,
			"authMethod":   model.AuthMethods,
		},
		"DuplicateGroup":   {"reason": model.DuplicateReasons},
		"ImportItemResult": {"status": model.ImportStatuses},
	} {
		s := oapi.Components.Schemas.Map()[schema]
		if s == nil {
			continue
		}
		for name, values := range props {
			s.Properties[name].Enum = anys(values)
			s.Properties[name].PrecomputeMessages()
		}
	}
}

// paramEnumsKey is the Operation.Metadata key under which an operation
// gives the closed sets of its query parameters (name → values), taken
// from model's lists, for documentParamEnums to apply.
const paramEnumsKey = "remyParamEnums"

// documentParamEnums is the OnAddOperation hook that gives parameters their
// enums. The parameter's schema is the one Huma validates requests with, so
// the document and the validation cannot disagree.
func documentParamEnums(_ *huma.OpenAPI, op *huma.Operation) {
	enums, _ := op.Metadata[paramEnumsKey].(map[string][]string)
	for _, p := range op.Parameters {
		if values, ok := enums[p.Name]; ok && p.In == "query" {
			p.Schema.Enum = anys(values)
			p.Schema.PrecomputeMessages()
		}
	}
}

func anys(values []string) []any {
	out := make([]any, len(values))
	for i, v := range values {
		out[i] = v
	}
	return out
}
