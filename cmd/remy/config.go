package main

import (
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/remy-crm/remy/api"
	"github.com/remy-crm/remy/model"
	"github.com/remy-crm/remy/repo/delivery"
)

// config is everything remy reads from its environment (and flags).
type config struct {
	DatabaseURL    string
	Addr           string
	LogLevel       slog.Level
	PublicURL      string
	TrustedProxies []netip.Prefix
	RateLimitRPS   float64
	RateLimitBurst int
	RedisURL       string
	DebugAddr      string
	MetricsAddr    string
	RequestTimeout time.Duration
	PhoneRegion    string

	WebhookAllowPrivate bool
	WebhookTimeout      time.Duration
	WebhookRetryDelays  []time.Duration

	EventsRetention time.Duration
}

// Environment variables, with their defaults, as the README's table lists them.
const (
	envDatabaseURL    = "DATABASE_URL"
	envAddr           = "REMY_ADDR"
	envLogLevel       = "REMY_LOG_LEVEL"
	envPublicURL      = "REMY_PUBLIC_URL"
	envTrustedProxies = "REMY_TRUSTED_PROXIES"
	envRateLimitRPS   = "REMY_RATE_LIMIT_RPS"
	envRateLimitBurst = "REMY_RATE_LIMIT_BURST"
	envRedisURL       = "REDIS_URL"
	envDebugAddr      = "REMY_DEBUG_ADDR"
	envMetricsAddr    = "REMY_METRICS_ADDR"
	envRequestTimeout = "REMY_REQUEST_TIMEOUT"
	envPhoneRegion    = "REMY_PHONE_REGION"

	envWebhookAllowPrivate = "REMY_WEBHOOK_ALLOW_PRIVATE"
	envWebhookTimeout      = "REMY_WEBHOOK_TIMEOUT"
	envWebhookRetryDelays  = "REMY_WEBHOOK_RETRY_DELAYS"

	envEventsRetention = "REMY_EVENTS_RETENTION"
)

// defaultEventsRetention keeps the change feed's events 30 days.
const defaultEventsRetention = 720 * time.Hour

func loadConfig(getenv func(string) string) (config, error) {
	cfg := config{
		DatabaseURL:    getenv(envDatabaseURL),
		Addr:           or(getenv(envAddr), ":8080"),
		PublicURL:      strings.TrimRight(getenv(envPublicURL), "/"), // "": the listen address, see serve
		RateLimitRPS:   10,
		RateLimitBurst: 50,
		RedisURL:       getenv(envRedisURL),
		DebugAddr:      getenv(envDebugAddr),
		MetricsAddr:    getenv(envMetricsAddr),
		RequestTimeout: api.DefaultRequestTimeout,
		PhoneRegion:    model.DefaultPhoneRegion,

		WebhookTimeout:     delivery.DefaultTimeout,
		WebhookRetryDelays: delivery.DefaultRetryDelays,
	}
	if err := cfg.LogLevel.UnmarshalText([]byte(or(getenv(envLogLevel), "info"))); err != nil {
		return cfg, fmt.Errorf("%s: %w", envLogLevel, err)
	}
	for _, s := range strings.FieldsFunc(getenv(envTrustedProxies), func(r rune) bool { return r == ',' || r == ' ' }) {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return cfg, fmt.Errorf("%s: %q is neither an address nor a CIDR prefix", envTrustedProxies, s)
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		cfg.TrustedProxies = append(cfg.TrustedProxies, p)
	}
	if v := getenv(envRateLimitRPS); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 {
			return cfg, fmt.Errorf("%s: want a number >= 0, got %q", envRateLimitRPS, v)
		}
		cfg.RateLimitRPS = f
	}
	if v := getenv(envRateLimitBurst); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return cfg, fmt.Errorf("%s: want a whole number >= 1, got %q", envRateLimitBurst, v)
		}
		cfg.RateLimitBurst = n
	}
	if v := getenv(envRequestTimeout); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 100*time.Millisecond {
			return cfg, fmt.Errorf("%s: want a Go duration of at least 100ms such as 10s, got %q", envRequestTimeout, v)
		}
		cfg.RequestTimeout = d
	}
	if v := getenv(envPhoneRegion); v != "" {
		r, err := model.ParsePhoneRegion(v)
		if err != nil {
			return cfg, fmt.Errorf("%s: %w", envPhoneRegion, err)
		}
		cfg.PhoneRegion = r
	}
	cfg.EventsRetention = defaultEventsRetention
	if v := getenv(envEventsRetention); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return cfg, fmt.Errorf("%s: want a positive duration such as 720h, got %q", envEventsRetention, v)
		}
		cfg.EventsRetention = d
	}
	err := cfg.loadWebhooks(getenv)
	return cfg, err
}

// loadWebhooks reads the webhook worker's settings.
func (cfg *config) loadWebhooks(getenv func(string) string) error {
	if v := getenv(envWebhookAllowPrivate); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%s: want true or false, got %q", envWebhookAllowPrivate, v)
		}
		cfg.WebhookAllowPrivate = b
	}
	if v := getenv(envWebhookTimeout); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("%s: want a positive duration such as 15s, got %q", envWebhookTimeout, v)
		}
		cfg.WebhookTimeout = d
	}
	if v := getenv(envWebhookRetryDelays); v != "" {
		cfg.WebhookRetryDelays = []time.Duration{}
		for _, s := range strings.Split(v, ",") {
			d, err := time.ParseDuration(strings.TrimSpace(s))
			if err != nil || d < 0 {
				return fmt.Errorf("%s: want comma-separated durations such as 5s,5m,30m, got %q", envWebhookRetryDelays, v)
			}
			cfg.WebhookRetryDelays = append(cfg.WebhookRetryDelays, d)
		}
	}
	return nil
}

func (c config) logger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: c.LogLevel}))
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
