// Package delivery works the webhook queue: it makes each attempt at a
// delivery (signed per Standard Webhooks, over a dialer that refuses
// non-public addresses), records the outcome and schedules the next attempt.
// Every `remy serve` process runs one; River hands each job to one of them.
package delivery

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/rivertype"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/remy-crm/remy/model"
	"github.com/remy-crm/remy/repo"
	"github.com/remy-crm/remy/repo/egress"
)

// Defaults of Config.
var (
	DefaultTimeout = 15 * time.Second
	// DefaultRetryDelays is the Standard Webhooks (Svix) schedule: eight
	// attempts over about 28 hours.
	DefaultRetryDelays = []time.Duration{
		5 * time.Second, 5 * time.Minute, 30 * time.Minute,
		2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour,
	}
)

// Limits of one attempt.
const (
	// MaxPayload: bodies stay under 256 KiB.
	MaxPayload = 256 << 10
	// maxResponse is how much of a receiver's answer is read.
	maxResponse = 64 << 10
)

// Config tunes the worker.
type Config struct {
	// Timeout bounds one attempt, connection to last response byte.
	Timeout time.Duration
	// RetryDelays are the waits before the 2nd, 3rd… attempts: N delays
	// mean N+1 attempts.
	RetryDelays []time.Duration
	// Policy is where deliveries may connect; the zero Policy admits
	// public addresses only.
	Policy egress.Policy
	// PollInterval is how often an idle process looks for due jobs.
	PollInterval time.Duration
	// Concurrency is how many attempts one process makes at once.
	Concurrency int
	// UserAgent is sent with every delivery.
	UserAgent string
	Logger    *slog.Logger
}

// Runner is the queue worker of one process.
type Runner struct {
	client *river.Client[*sql.Tx]
}

// Start begins working the queue over store's database.
func Start(ctx context.Context, store *repo.Store, cfg Config) (*Runner, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.RetryDelays == nil {
		cfg.RetryDelays = DefaultRetryDelays
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 20
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "Remy-Webhooks/1.0"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	w := &worker{cfg: cfg, store: store.Webhooks, client: newHTTPClient(cfg.Timeout, cfg.Policy), log: cfg.Logger}
	workers := river.NewWorkers()
	river.AddWorker(workers, w)
	river.AddWorker(workers, &purger{store: store.Webhooks, log: cfg.Logger})
	client, err := river.NewClient(riverdatabasesql.New(store.DB.DB), &river.Config{
		Queues: map[string]river.QueueConfig{
			repo.WebhookQueue:  {MaxWorkers: cfg.Concurrency},
			river.QueueDefault: {MaxWorkers: 1},
		},
		Workers:           workers,
		FetchPollInterval: cfg.PollInterval,
		FetchCooldown:     min(cfg.PollInterval, 100*time.Millisecond),
		// A job outlives its attempt by a little (reading and recording);
		// one still running past that was lost with its process, and is
		// rescued soon so the interrupted attempt is made again.
		// River's rescuer looks every 30 s: with the default 15 s timeout an
		// attempt cut short by a kill is made again within the minute.
		JobTimeout:           cfg.Timeout + recordingTime,
		RescueStuckJobsAfter: cfg.Timeout + recordingTime + time.Second,
		RetryPolicy:          errorRetryPolicy{},
		PeriodicJobs: []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
			func() (river.JobArgs, *river.InsertOpts) { return purgeArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true})},
		// River narrates its life at info; only its warnings matter here.
		Logger: slog.New(warnOnly{cfg.Logger.Handler()}).With("component", "river"),
	})
	if err != nil {
		return nil, fmt.Errorf("webhook worker: %w", err)
	}
	// Shutdown is Stop's business, not the caller's context's.
	if err := client.Start(context.WithoutCancel(ctx)); err != nil {
		return nil, fmt.Errorf("webhook worker: %w", err)
	}
	return &Runner{client: client}, nil
}

// Stop lets running attempts finish until ctx is done, then cancels them
// (River makes them again later).
func (r *Runner) Stop(ctx context.Context) error {
	err := r.client.Stop(ctx)
	if err != nil {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		return r.client.StopAndCancel(cctx)
	}
	return nil
}

// errorRetryPolicy spaces out the retries of jobs that failed for our
// reasons (the database was away) or died with their process: soon, so an
// interrupted attempt is made again within the minute. The delivery
// schedule itself is the worker's (it snoozes the job).
type errorRetryPolicy struct{}

func (errorRetryPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	return time.Now().Add(min(time.Duration(job.Attempt*job.Attempt)*time.Second, time.Minute))
}

// newHTTPClient never follows redirects, ignores proxy settings, and
// checks the address it dials (after DNS) against the policy.
func newHTTPClient(timeout time.Duration, policy egress.Policy) *http.Client {
	dialer := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second, Control: policy.Control()}
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           dialer.DialContext,
			ForceAttemptHTTP2:     true,
			TLSHandshakeTimeout:   timeout,
			ResponseHeaderTimeout: timeout,
			MaxIdleConnsPerHost:   2,
			IdleConnTimeout:       90 * time.Second,
		},
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

type worker struct {
	river.WorkerDefaults[repo.DeliverArgs]
	cfg    Config
	store  *repo.WebhookRepo
	client *http.Client
	log    *slog.Logger
}

// recordingTime is what a job may take beyond its HTTP attempt: loading the
// delivery and recording the outcome.
const recordingTime = 3 * time.Second

func (w *worker) Timeout(*river.Job[repo.DeliverArgs]) time.Duration {
	return w.cfg.Timeout + recordingTime
}

// body is built from stored rows only, so every attempt sends the same
// bytes: the event exactly as the change feed serves it (model.Event).
func body(at *repo.DeliveryAttempt) ([]byte, error) {
	e := model.Event{ID: at.Delivery.EventID, Type: at.Delivery.EventType, Timestamp: at.Delivery.CreatedAt.UTC(),
		Data: model.EventData{Object: at.Delivery.Object, Activity: at.Activity}}
	if at.Activity != nil {
		e.Timestamp = at.Activity.CreatedAt.UTC()
	}
	return json.Marshal(e)
}

func (w *worker) Work(ctx context.Context, job *river.Job[repo.DeliverArgs]) error {
	at, err := w.store.LoadAttempt(ctx, job.Args.DeliveryID)
	if errors.Is(err, model.ErrNotFound) {
		return nil // the endpoint was deleted, and its deliveries with it
	}
	if err != nil {
		return err
	}
	d, ep := at.Delivery, at.Endpoint
	manual := job.Args.Manual
	if !manual && d.Status != model.DeliveryPending {
		return nil // settled meanwhile (a manual retry succeeded)
	}
	now := time.Now()
	a := model.Attempt{At: now, Manual: manual}
	var retryAfter time.Duration
	b, err := body(at)
	switch {
	case err != nil:
		return err
	case !manual && !ep.Enabled:
		a.Error, a.Final = ptr("Not sent: the endpoint is disabled"), true
	case len(b) >= MaxPayload:
		a.Error, a.Final = ptr(fmt.Sprintf("Not sent: payload of %d bytes exceeds the %d-byte limit", len(b), MaxPayload)), true
	default:
		a.StatusCode, a.Error, retryAfter = w.send(ctx, ep, d.EventID.String(), b, now)
	}
	if !a.Final {
		n := d.Scheduled + 1 // this attempt's place in the schedule
		code := 0
		if a.StatusCode != nil {
			code = *a.StatusCode
		}
		switch {
		case code >= 200 && code < 300:
			a.Succeeded, a.Final = true, true
		case code == http.StatusGone:
			a.Gone, a.Final = true, true
		case manual && d.Status == model.DeliveryPending && d.NextAttemptAt != nil:
			a.Next = d.NextAttemptAt // its schedule goes on
		case manual, n > len(w.cfg.RetryDelays):
			a.Final = true
		default:
			delay := jitter(w.cfg.RetryDelays[n-1])
			if (code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable) && retryAfter > delay {
				delay = retryAfter
			}
			next := now.Add(delay)
			a.Next = &next
		}
	}
	if err := w.store.RecordAttempt(ctx, d.ID, a); err != nil {
		// River tries again: at least once, never lost.
		return err
	}
	if a.Next != nil && !manual {
		return river.JobSnooze(max(time.Until(*a.Next), 0))
	}
	return nil
}

// send makes one HTTP attempt. It returns the status code (nil when no
// response came), an error message for anything but a 2xx, and the
// Retry-After the receiver asked for.
func (w *worker) send(ctx context.Context, ep *model.Webhook, msgID string, body []byte, now time.Time) (*int, *string, time.Duration) {
	sigs := make([]string, 0, 2)
	for _, secret := range ep.Secrets(now) {
		wh, err := standardwebhooks.NewWebhook(secret)
		if err != nil {
			return nil, ptr("Not sent: invalid secret"), 0
		}
		sig, err := wh.Sign(msgID, now, body)
		if err != nil {
			return nil, ptr("Not sent: signing failed"), 0
		}
		sigs = append(sigs, sig)
	}
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(body))
	if err != nil {
		return nil, ptr("Not sent: invalid URL"), 0
	}
	req.Header.Set("content-type", "application/json")
	req.Header.Set("user-agent", w.cfg.UserAgent)
	req.Header.Set("webhook-id", msgID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("webhook-signature", strings.Join(sigs, " "))
	res, err := w.client.Do(req)
	if err != nil {
		return nil, ptr(describe(err, w.cfg.Timeout)), 0
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, maxResponse))
	_ = res.Body.Close()
	code := res.StatusCode
	if code >= 200 && code < 300 {
		return &code, nil, 0
	}
	msg := fmt.Sprintf("Endpoint answered %d", code)
	if code >= 300 && code < 400 {
		msg += " (redirects are not followed)"
	}
	return &code, &msg, retryAfterOf(res.Header.Get("Retry-After"), now)
}

// describe says why no response came, without Go's wrapping.
func describe(err error, timeout time.Duration) string {
	var netErr net.Error
	switch {
	case egress.Refused(err):
		return "Refused: the URL resolves to a non-public address"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Sprintf("Timed out after %s", timeout)
	}
	var urlErr interface{ Unwrap() error }
	if errors.As(err, &urlErr) {
		if inner := urlErr.Unwrap(); inner != nil {
			err = inner
		}
	}
	return "Connection failed: " + err.Error()
}

func retryAfterOf(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return t.Sub(now)
	}
	return 0
}

// jitter spreads retries of many deliveries by ±10%.
func jitter(d time.Duration) time.Duration {
	return d + time.Duration((rand.Float64()*0.2-0.1)*float64(d))
}

func ptr[T any](v T) *T { return &v }

type purgeArgs struct{}

func (purgeArgs) Kind() string { return "webhook_purge" }

// purger deletes deliveries older than model.WebhookRetention, hourly, on
// whichever process is River's leader.
type purger struct {
	river.WorkerDefaults[purgeArgs]
	store *repo.WebhookRepo
	log   *slog.Logger
}

func (p *purger) Work(ctx context.Context, _ *river.Job[purgeArgs]) error {
	n, err := p.store.PurgeDeliveries(ctx, time.Now().Add(-model.WebhookRetention))
	if n > 0 {
		p.log.Info("purged old webhook deliveries", "deleted", n)
	}
	return err
}

// warnOnly drops records below warn.
type warnOnly struct{ slog.Handler }

func (h warnOnly) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && h.Handler.Enabled(ctx, l)
}
func (h warnOnly) WithAttrs(a []slog.Attr) slog.Handler { return warnOnly{h.Handler.WithAttrs(a)} }
func (h warnOnly) WithGroup(n string) slog.Handler      { return warnOnly{h.Handler.WithGroup(n)} }
