package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/remy-crm/remy/api"
	"github.com/remy-crm/remy/migrations"
	"github.com/remy-crm/remy/model"
	"github.com/remy-crm/remy/repo"
	"github.com/remy-crm/remy/repo/delivery"
	"github.com/remy-crm/remy/repo/egress"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

type cli struct {
	getenv func(string) string
	stdout io.Writer
	stderr io.Writer
	cfg    config
	dbURL  string
}

func newRootCommand(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	c := &cli{getenv: getenv, stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "remy",
		Short: "Remy: the personal CRM's REST API server and admin CLI",
		Long: `remy serves Remy's REST API and administers its database.

Configuration comes from the environment (see the README for the full table):
  DATABASE_URL           Postgres connection string (required, except for 'remy dev')
  REMY_ADDR              listen address (default :8080)
  REMY_LOG_LEVEL         debug, info, warn or error (default info)
  REMY_PUBLIC_URL        base URL clients use, shown in /openapi.json (default: the listen address, e.g. http://localhost:8080)
  REMY_TRUSTED_PROXIES   comma-separated proxy addresses/CIDRs whose X-Forwarded-For is believed
  REMY_RATE_LIMIT_RPS    sustained requests per second per API key (default 10; 0 disables)
  REMY_RATE_LIMIT_BURST  burst size per API key (default 50)
  REDIS_URL              share rate limits between instances through Redis (optional; e.g. redis://localhost:6379/0)
  REMY_DEBUG_ADDR        serve Go's pprof profiles (goroutines, heap…) on this address (optional; e.g. 127.0.0.1:6060)
  REMY_METRICS_ADDR      serve /metrics on this address instead of on REMY_ADDR (e.g. 127.0.0.1:9090)
  REMY_REQUEST_TIMEOUT   deadline of every request but exports, a Go duration (default 10s)
  REMY_PHONE_REGION      region of phone numbers written without a country code, for duplicates and merges (default US)
  REMY_WEBHOOK_TIMEOUT        how long a webhook receiver has to answer (default 15s)
  REMY_WEBHOOK_RETRY_DELAYS   waits between webhook attempts (default 5s,5m,30m,2h,5h,10h,10h)
  REMY_WEBHOOK_ALLOW_PRIVATE  true lets webhooks use http:// and private addresses (development only)
  REMY_EVENTS_RETENTION       how long the change feed keeps events, a Go duration (default 720h)`,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(getenv)
			if err != nil {
				return err
			}
			if c.dbURL != "" {
				cfg.DatabaseURL = c.dbURL
			}
			c.cfg = cfg
			return nil
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVar(&c.dbURL, "database-url", "", "Postgres connection string (overrides $DATABASE_URL)")
	root.AddCommand(c.migrateCommand(), c.serveCommand(), c.accountsCommand(), c.keysCommand(), c.devCommand())
	return root
}

// open connects to the configured database.
func (c *cli) open(ctx context.Context) (*repo.Store, error) {
	if c.cfg.DatabaseURL == "" {
		return nil, errors.New("DATABASE_URL is not set (or pass --database-url)")
	}
	if err := checkDatabaseURL(c.cfg.DatabaseURL); err != nil {
		source := envDatabaseURL
		if c.dbURL != "" {
			source = "--database-url"
		}
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	db, err := repo.Open(ctx, c.cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	return repo.NewStore(db, repo.WithWebhookPolicy(c.webhookPolicy()), repo.WithPhoneRegion(c.cfg.PhoneRegion)), nil
}

// webhookPolicy is where webhook endpoints may point and deliveries may
// connect.
func (c *cli) webhookPolicy() egress.Policy {
	return egress.Policy{AllowPrivate: c.cfg.WebhookAllowPrivate}
}

// withStore wraps a command body that needs the database: it connects
// first and closes the connection when the body returns.
func (c *cli) withStore(body func(cmd *cobra.Command, args []string, store *repo.Store) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		store, err := c.open(cmd.Context())
		if err != nil {
			return err
		}
		defer store.DB.Close()
		return body(cmd, args, store)
	}
}

func (c *cli) migrate(ctx context.Context, store *repo.Store, log *slog.Logger) error {
	applied, err := migrations.Migrate(ctx, store.DB)
	for _, name := range applied {
		log.Info("migration applied", "name", name)
	}
	return err
}

func (c *cli) migrateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply pending database migrations",
		Long:  "Apply the SQL migrations embedded in this binary. Safe to run from several processes at once: they take turns.",
		Args:  cobra.NoArgs,
		RunE: c.withStore(func(cmd *cobra.Command, _ []string, store *repo.Store) error {
			applied, err := migrations.Migrate(cmd.Context(), store.DB)
			for _, name := range applied {
				fmt.Fprintln(c.stdout, "applied", name)
			}
			if err != nil {
				return err
			}
			if len(applied) == 0 {
				fmt.Fprintln(c.stdout, "database is up to date")
			}
			return nil
		}),
	}
}

func (c *cli) serveCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Migrate the database, then serve the API",
		Long:  "Apply pending migrations, then serve the API on $REMY_ADDR. SIGTERM or Ctrl-C drains in-flight requests and exits 0.",
		Args:  cobra.NoArgs,
		RunE: c.withStore(func(cmd *cobra.Command, _ []string, store *repo.Store) error {
			log := c.cfg.logger(c.stderr)
			if err := c.migrate(cmd.Context(), store, log); err != nil {
				return err
			}
			tuneGC(c.getenv, log)
			return c.serve(cmd.Context(), store, log, nil)
		}),
	}
	return cmd
}

// serve runs the HTTP server until ctx is done, then drains it. ready, if
// not nil, is called with the bound address once the server accepts.
func (c *cli) serve(ctx context.Context, store *repo.Store, log *slog.Logger, ready func(addr string)) error {
	// Listen first, so that without REMY_PUBLIC_URL the document can name
	// the address really bound (REMY_ADDR=127.0.0.1:0 included) and /docs
	// "Try it out" reaches this server.
	ln, err := net.Listen("tcp", c.cfg.Addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	d, err := c.dependencies(ctx, store, log, ln.Addr().String())
	defer d.close()
	if err != nil {
		return err
	}
	return serveUntilDone(ctx, d.handler, ln, log, ready)
}

// running is what serve builds: the API's handler, and what runs beside it
// until serve returns.
type running struct {
	handler http.Handler
	stops   []func() // run in reverse order by close
}

func (r *running) onClose(stop func()) { r.stops = append(r.stops, stop) }

func (r *running) close() {
	for i := len(r.stops) - 1; i >= 0; i-- {
		r.stops[i]()
	}
}

// dependencies builds the API over store and starts the work beside it:
// the key cache, metrics, the webhook worker, the purge of expired
// Idempotency-Key records and the debug listener. On an error, what was
// started is still in the result for close to stop.
func (c *cli) dependencies(ctx context.Context, store *repo.Store, log *slog.Logger, addr string) (*running, error) {
	r := &running{}
	cfg := c.apiConfig(addr)
	rdb, err := c.connectRedis(ctx, log)
	if err != nil {
		return r, err
	}
	if rdb != nil {
		r.onClose(func() { _ = rdb.Close() })
		cfg.Redis = rdb
	}
	// Keys are cached per process; revocations reach every instance
	// through Postgres NOTIFY.
	if err := store.Keys.CacheKeys(ctx, c.cfg.DatabaseURL, log); err != nil {
		return r, err
	}
	// Long-polls and streams of the change feed wake on NOTIFY, from
	// whichever instance committed.
	if err := store.Feed.Listen(ctx, c.cfg.DatabaseURL, log); err != nil {
		return r, err
	}
	r.onClose(startEventPruning(ctx, store, c.cfg.EventsRetention, log))
	cfg.Metrics = api.NewMetrics(store.DB.DB)
	if c.cfg.MetricsAddr != "" {
		cfg.MetricsElsewhere = true
		stop, err := serveMetrics(c.cfg.MetricsAddr, cfg.Metrics, log)
		if err != nil {
			return r, err
		}
		r.onClose(stop)
	}
	r.handler = api.New(cfg, api.Deps{Store: store, Log: log})
	stop, err := c.startWebhooks(ctx, store, log)
	if err != nil {
		return r, err
	}
	r.onClose(stop)
	r.onClose(startPurge(ctx, store, log))
	if c.cfg.DebugAddr != "" {
		stopDebug, err := serveDebug(c.cfg.DebugAddr, log)
		if err != nil {
			return r, fmt.Errorf("%s: %w", envDebugAddr, err)
		}
		r.onClose(stopDebug)
	}
	return r, nil
}

// apiConfig is the API's configuration when serving on addr.
func (c *cli) apiConfig(addr string) api.Config {
	publicURL := c.cfg.PublicURL
	if publicURL == "" {
		publicURL = "http://" + hostPort(addr)
	}
	return api.Config{
		PublicURL:      publicURL,
		TrustedProxies: c.cfg.TrustedProxies,
		Version:        version,
		RateLimitRPS:   c.cfg.RateLimitRPS,
		RateLimitBurst: c.cfg.RateLimitBurst,
		RequestTimeout: c.cfg.RequestTimeout,
	}
}

// connectRedis returns the client of REDIS_URL, nil when it is not set. An
// unreachable Redis is not an error: rate limits are per process until it
// answers.
func (c *cli) connectRedis(ctx context.Context, log *slog.Logger) (*redis.Client, error) {
	if c.cfg.RedisURL == "" {
		return nil, nil
	}
	opts, err := redis.ParseURL(c.cfg.RedisURL)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", envRedisURL, err)
	}
	rdb := redis.NewClient(opts)
	pingCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := rdb.Ping(pingCtx).Err(); err != nil {
		log.Warn("Redis unreachable; rate limits are per process until it answers", "error", err)
	}
	return rdb, nil
}

// serveMetrics serves /metrics on its own listener at addr.
func serveMetrics(addr string, m *api.Metrics, log *slog.Logger) (stop func(), err error) {
	mln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", envMetricsAddr, err)
	}
	msrv := &http.Server{Handler: metricsMux(m), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = msrv.Serve(mln) }()
	log.Info("serving metrics", "addr", mln.Addr().String())
	return func() { _ = msrv.Close() }, nil
}

// startWebhooks starts this process's webhook worker (every process works
// the queue; River gives each job to one) and returns its stop.
func (c *cli) startWebhooks(ctx context.Context, store *repo.Store, log *slog.Logger) (stop func(), err error) {
	hooks, err := delivery.Start(ctx, store, delivery.Config{
		Timeout:     c.cfg.WebhookTimeout,
		RetryDelays: c.cfg.WebhookRetryDelays,
		Policy:      c.webhookPolicy(),
		UserAgent:   "Remy-Webhooks/" + version,
		Logger:      log,
	})
	if err != nil {
		return nil, err
	}
	return func() {
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.WebhookTimeout+5*time.Second)
		defer cancel()
		if err := hooks.Stop(stopCtx); err != nil {
			log.Warn("stop webhook worker", "error", err)
		}
	}, nil
}

// startPurge deletes expired Idempotency-Key records in the background,
// off the request path, until its stop is called.
func startPurge(ctx context.Context, store *repo.Store, log *slog.Logger) (stop func()) {
	purgeCtx, stopPurge := context.WithCancel(ctx)
	go store.Idempotency.PurgeEvery(purgeCtx, time.Hour, func(deleted int64, err error) {
		if err != nil {
			log.Warn("purge expired idempotency keys", "error", err, "deleted", deleted)
		} else if deleted > 0 {
			log.Info("purged expired idempotency keys", "deleted", deleted)
		}
	})
	return stopPurge
}

// startEventPruning deletes the change feed's events older than retention,
// now and then (every instance does; they only share the work), until its
// stop is called.
func startEventPruning(ctx context.Context, store *repo.Store, retention time.Duration, log *slog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	every := min(max(retention/4, time.Second), 10*time.Minute)
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			n, err := store.Feed.Prune(ctx, time.Now().Add(-retention))
			switch {
			case err != nil && ctx.Err() == nil:
				log.Warn("prune change feed events", "error", err, "deleted", n)
			case n > 0:
				log.Info("pruned change feed events", "deleted", n, "retention", retention.String())
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return cancel
}

// serveUntilDone serves handler on ln until ctx is done, then drains
// in-flight requests.
func serveUntilDone(ctx context.Context, handler http.Handler, ln net.Listener, log *slog.Logger, ready func(addr string)) error {
	srv := newHTTPServer(handler, log)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("serving", "addr", ln.Addr().String(), "version", version)
	if ready != nil {
		ready(ln.Addr().String())
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: draining in-flight requests")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

// metricsMux is the metrics listener's whole surface.
func metricsMux(m *api.Metrics) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	return mux
}

// Limits of serve's http.Server against slow or oversized clients. A body
// must also arrive within 5 s of its first byte being awaited (Huma's
// per-operation body read timeout, answered with a JSON 408). There is no
// WriteTimeout: an export streams for as long as its client reads, and is
// cut when a write stalls for a minute.
const (
	// readHeaderTimeout cuts a client that trickles its headers (slow loris).
	readHeaderTimeout = 5 * time.Second
	// readTimeout bounds reading a whole request, headers and body.
	readTimeout = 30 * time.Second
	// idleTimeout closes a kept-alive connection that sends nothing more.
	idleTimeout = time.Minute
	// maxHeaderBytes is Go's default, stated: a 1 MB User-Agent still fits
	// (and is stored cut to 512 bytes); more is net/http's 431.
	maxHeaderBytes = 1 << 20
)

func newHTTPServer(handler http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

func (c *cli) accountsCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "accounts", Short: "Manage accounts"}
	var email, name string
	create := &cobra.Command{
		Use:     "create --email EMAIL [--name NAME]",
		Short:   "Create an account and print its id",
		Example: "  remy accounts create --email ada@example.com --name 'Ada Lovelace'",
		Args:    cobra.NoArgs,
		PreRunE: requireFlags("email"),
		RunE: c.withStore(func(cmd *cobra.Command, _ []string, store *repo.Store) error {
			if err := checkAccountEmail(email); err != nil {
				return err
			}
			a, err := store.Accounts.Create(cmd.Context(), email, name)
			if errors.Is(err, model.ErrConflict) {
				return fmt.Errorf("an account with email %q already exists", email)
			}
			if err != nil {
				return err
			}
			fmt.Fprintln(c.stdout, a.ID)
			return nil
		}),
	}
	create.Flags().StringVar(&email, "email", "", "the account's email (required; unique, case-insensitive)")
	create.Flags().StringVar(&name, "name", "", "the account holder's name")
	cmd.AddCommand(create)
	return cmd
}

func (c *cli) keysCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Manage API keys"}
	cmd.AddCommand(c.keysCreateCommand(), c.keysListCommand(), c.keysRevokeCommand())
	return cmd
}

func (c *cli) keysCreateCommand() *cobra.Command {
	var account, name, expiresIn, scopeList string
	var scopes model.Scopes
	create := &cobra.Command{
		Use:   "create --account EMAIL [--name NAME] [--expires-in DURATION] [--scopes LIST]",
		Short: "Create an API key and print it (it is shown only once)",
		Long: `Create an API key for an account and print it (it is shown only once).

--scopes limits what the key may do: a comma-separated list of
  ` + strings.Join(model.AllScopes.Names(), ", ") + `
or the shorthands "read" (every :read scope) and "all" (every scope, the default).
A :write scope implies the :read scope of the same resource. A request that
needs a scope the key lacks is answered 403.`,
		Example: "  remy keys create --account ada@example.com --name laptop --expires-in 720h\n" +
			"  remy keys create --account ada@example.com --name backup --scopes export:read\n" +
			"  remy keys create --account ada@example.com --name reporting --scopes read",
		Args: cobra.NoArgs,
		// Checked before the database is opened: a typo creates nothing.
		PreRunE: func(cmd *cobra.Command, args []string) (err error) {
			if err := requireFlags("account")(cmd, args); err != nil {
				return err
			}
			scopes, err = model.ParseScopes(scopeList)
			if err != nil {
				return fmt.Errorf("--scopes: %w", err)
			}
			return nil
		},
		RunE: c.withStore(func(cmd *cobra.Command, _ []string, store *repo.Store) error {
			var expiresAt *time.Time
			if expiresIn != "" {
				d, err := parseDuration(expiresIn)
				if err != nil || d <= 0 {
					return fmt.Errorf("--expires-in: want a positive duration such as 720h or 30d, got %q", expiresIn)
				}
				t := time.Now().Add(d)
				expiresAt = &t
			}
			a, err := c.account(cmd.Context(), store, account)
			if err != nil {
				return err
			}
			secret, _, err := store.Keys.Create(cmd.Context(), a.ID, name, expiresAt, scopes...)
			if err != nil {
				return err
			}
			fmt.Fprintln(c.stdout, secret)
			return nil
		}),
	}
	create.Flags().StringVar(&account, "account", "", "email of the account the key acts for (required)")
	create.Flags().StringVar(&name, "name", "", "a name to recognise the key by")
	create.Flags().StringVar(&expiresIn, "expires-in", "", "lifetime, e.g. 720h or 30d (default: never expires)")
	create.Flags().StringVar(&scopeList, "scopes", model.ScopesAllShorthand, "comma-separated scopes the key holds, or read or all")
	return create
}

func (c *cli) keysListCommand() *cobra.Command {
	var listAccount string
	list := &cobra.Command{
		Use:     "list --account EMAIL",
		Short:   "List an account's API keys",
		Args:    cobra.NoArgs,
		PreRunE: requireFlags("account"),
		RunE: c.withStore(func(cmd *cobra.Command, _ []string, store *repo.Store) error {
			a, err := c.account(cmd.Context(), store, listAccount)
			if err != nil {
				return err
			}
			keys, err := store.Keys.List(cmd.Context(), a.ID)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tPREFIX\tSCOPES\tCREATED\tLAST USED\tEXPIRES\tREVOKED")
			for _, k := range keys {
				fmt.Fprintf(tw, "%s\t%s\t%s…\t%s\t%s\t%s\t%s\t%s\n", k.ID, or(k.Name, "-"), k.Prefix, k.Scopes,
					stamp(&k.CreatedAt), stamp(k.LastUsedAt), stamp(k.ExpiresAt), stamp(k.RevokedAt))
			}
			return tw.Flush()
		}),
	}
	list.Flags().StringVar(&listAccount, "account", "", "email of the account (required)")
	return list
}

func (c *cli) keysRevokeCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "revoke KEY_ID",
		Short: "Revoke an API key (by its id, as 'keys list' shows it)",
		Args:  oneArg("KEY_ID"),
		RunE: c.withStore(func(cmd *cobra.Command, args []string, store *repo.Store) error {
			id, err := uuid.Parse(args[0])
			if err != nil {
				return fmt.Errorf("KEY_ID must be a key's id (a UUID from 'remy keys list'), got %q", args[0])
			}
			k, err := store.Keys.ByID(cmd.Context(), id)
			if errors.Is(err, model.ErrNotFound) {
				return fmt.Errorf("no API key with id %s", id)
			}
			if err != nil {
				return err
			}
			if k.RevokedAt != nil {
				return fmt.Errorf("API key %s (%s…) is already revoked (since %s)", k.ID, k.Prefix, stamp(k.RevokedAt))
			}
			k, err = store.Keys.Revoke(cmd.Context(), id)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "revoked %s (%s…) at %s\n", k.ID, k.Prefix, stamp(k.RevokedAt))
			return nil
		}),
	}
}

// requireFlags is cobra's MarkFlagRequired with a message that names the
// flag and shows the usage line, and that also refuses an empty value.
func requireFlags(names ...string) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, _ []string) error {
		for _, name := range names {
			if f := cmd.Flags().Lookup(name); f == nil || f.Value.String() == "" {
				return fmt.Errorf("missing --%s (usage: %s)", name, cmd.UseLine())
			}
		}
		return nil
	}
}

// oneArg is cobra.ExactArgs(1) with the argument named in the message.
func oneArg(name string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) == 0:
			return fmt.Errorf("missing argument %s (usage: %s)", name, cmd.UseLine())
		case len(args) > 1:
			return fmt.Errorf("%s takes one argument, %s; got %d (usage: %s)", cmd.CommandPath(), name, len(args), cmd.UseLine())
		}
		return nil
	}
}

// checkAccountEmail accepts a bare address, as for a contact's email:
// net/mail also parses "Name <a@b.c>", which is not an account's email.
func checkAccountEmail(email string) error {
	email = strings.TrimSpace(email)
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || len(email) > 254 {
		return fmt.Errorf("--email: %q is not a valid email address (want a plain address such as ada@example.com)", email)
	}
	return nil
}

// checkDatabaseURL rejects a DSN meant for another database before pgx
// answers with an opaque parse error. pgx also takes libpq's keyword/value
// form ("host=… dbname=…"), so that stays allowed.
func checkDatabaseURL(dsn string) error {
	scheme, _, isURL := strings.Cut(dsn, "://")
	switch {
	case isURL && (strings.EqualFold(scheme, "postgres") || strings.EqualFold(scheme, "postgresql")):
		return nil
	case isURL:
		// Only the scheme is shown: the rest may hold a password.
		return fmt.Errorf("expected a postgres:// URL (e.g. postgres://user:pass@host:5432/remy), got a %s:// URL", scheme)
	case strings.Contains(dsn, "="):
		return nil
	}
	return errors.New("expected a postgres:// URL (e.g. postgres://user:pass@host:5432/remy)")
}

func (c *cli) account(ctx context.Context, store *repo.Store, email string) (*model.Account, error) {
	a, err := store.Accounts.ByEmail(ctx, email)
	if errors.Is(err, model.ErrNotFound) {
		return nil, fmt.Errorf("no account with email %q (create it with 'remy accounts create --email %s')", email, email)
	}
	return a, err
}

// parseDuration is time.ParseDuration plus a "d" (day) unit.
func parseDuration(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil {
			return 0, err
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

func stamp(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
