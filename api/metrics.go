package api

import (
	"context"
	"database/sql"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/remy-crm/remy/repo"
)

// Metrics are the numbers /metrics exposes for Prometheus: requests per
// operation and status, their durations, database pool statistics,
// rate-limit rejections, and the Go runtime's own (GC, allocations). Each
// server has its own registry, so several can live in one process (tests).
type Metrics struct {
	feedOnce    sync.Once
	reg         *prometheus.Registry
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	rateLimited *prometheus.CounterVec
}

// NewMetrics registers Remy's collectors, with db's pool statistics.
func NewMetrics(db *sql.DB) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "remy_http_requests_total",
			Help: "HTTP requests answered, by operation (the OpenAPI operationId, or the route for others), method and status.",
		}, []string{"operation", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "remy_http_request_duration_seconds",
			Help:    "Time from the request's arrival to the end of its response, by operation and status.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"operation", "status"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "remy_rate_limit_rejections_total",
			Help: "Requests answered 429 by the rate limiter, by bucket kind (key, or ip for failed authentication).",
		}, []string{"bucket"}),
	}
	m.reg.MustRegister(m.requests, m.duration, m.rateLimited,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewDBStatsCollector(db, "remy"),
	)
	return m
}

// watchFeed adds the change feed's gauges: the horizon's lag, asked of
// the database at each scrape (bounded to a second), and the requests
// waiting on the feed in this process.
func (m *Metrics) watchFeed(feed *repo.FeedRepo) {
	m.feedOnce.Do(func() {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "remy_events_horizon_lag_seconds",
			Help: "Age of the oldest running transaction that holds the change feed's horizon back: events committed after it wait that long to be served (0: none).",
		}, func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			lag, err := feed.HorizonLag(ctx)
			if err != nil {
				return -1
			}
			return lag.Seconds()
		}), prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "remy_events_waiting_requests",
			Help: "Long-polls and streams of the change feed waiting in this process (they hold no database connection).",
		}, func() float64 { return float64(feed.Waiting()) }))
	})
}

// Handler serves the metrics in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// observe and rejected do nothing on a nil *Metrics (a bare server in
// this package's tests).
func (m *Metrics) observe(operation, method string, status int, d time.Duration) {
	if m == nil {
		return
	}
	code := statusLabel(status)
	m.requests.WithLabelValues(operation, method, code).Inc()
	m.duration.WithLabelValues(operation, code).Observe(d.Seconds())
}

func (m *Metrics) rejected(bucket string) {
	if m != nil {
		m.rateLimited.WithLabelValues(bucket).Inc()
	}
}

// statusLabel avoids formatting (and allocating) the common statuses anew
// on every request.
func statusLabel(status int) string {
	switch status {
	case 0, http.StatusOK: // 0: the handler wrote nothing, so net/http sent 200
		return "200"
	case http.StatusCreated:
		return "201"
	case http.StatusNotModified:
		return "304"
	case http.StatusNotFound:
		return "404"
	}
	return strconv.Itoa(status)
}
