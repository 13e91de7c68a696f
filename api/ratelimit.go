package api

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/go-redis/redis_rate/v10"
	"golang.org/x/time/rate"
)

// Rate limits: a token bucket per API key (and, for requests that fail
// authentication, per client IP) of RateLimitBurst tokens refilled at
// RateLimitRPS per second. With Redis the buckets are GCRA state in Redis
// (redis_rate), shared by every instance; without it, or while Redis fails,
// each process keeps its own buckets in memory.
//
// Responses carry the RateLimit-Policy and RateLimit fields of
// draft-ietf-httpapi-ratelimit-headers-10 (structured-field lists, one policy
// named "default"): q is the burst, w the seconds an empty bucket takes to
// refill, r the requests left now and t the seconds until the bucket is full.
type rateLimiter struct {
	rps    float64
	burst  int
	policy string // the RateLimit-Policy value, the same on every response

	local  *localBuckets
	redis  *redis_rate.Limiter
	limit  redis_rate.Limit
	prefix string
	log    *slog.Logger

	// While Redis fails it is left alone until redisRetryAt (unix nanos)
	// and the local buckets answer; the outage is logged at most once per
	// redisLogEvery.
	redisRetryAt atomic.Int64
	redisLogAt   atomic.Int64
	redisDown    atomic.Bool
}

const (
	redisTimeout    = 250 * time.Millisecond
	redisRetryAfter = 5 * time.Second
	redisLogEvery   = time.Minute
)

// quota is the state of one bucket after taking (or failing to take) a token.
type quota struct {
	allowed    bool
	remaining  int
	retryAfter time.Duration // until the next request is allowed, when !allowed
	resetAfter time.Duration // until the bucket is full again
}

func newRateLimiter(cfg Config, log *slog.Logger) *rateLimiter {
	if cfg.RateLimitRPS <= 0 {
		return nil
	}
	burst := max(cfg.RateLimitBurst, 1)
	if log == nil {
		log = slog.Default()
	}
	l := &rateLimiter{
		rps:    cfg.RateLimitRPS,
		burst:  burst,
		policy: fmt.Sprintf(`"default";q=%d;w=%d`, burst, ceilSeconds(time.Duration(float64(burst)/cfg.RateLimitRPS*float64(time.Second)))),
		local:  &localBuckets{rps: cfg.RateLimitRPS, burst: burst, m: map[string]*bucket{}},
		prefix: cfg.RateLimitPrefix,
		log:    log,
	}
	if l.prefix == "" {
		l.prefix = "remy:"
	}
	if cfg.Redis != nil {
		l.redis = redis_rate.NewLimiter(cfg.Redis)
		// GCRA needs only the emission interval: one request per 1/rps.
		l.limit = redis_rate.Limit{Rate: 1, Burst: burst, Period: time.Duration(float64(time.Second) / cfg.RateLimitRPS)}
	}
	return l
}

// take spends one token of the bucket id.
func (l *rateLimiter) take(ctx context.Context, id string) quota {
	now := time.Now()
	if l.redis != nil && now.UnixNano() >= l.redisRetryAt.Load() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), redisTimeout)
		res, err := l.redis.Allow(ctx, l.prefix+id, l.limit)
		cancel()
		if err == nil {
			if l.redisDown.Swap(false) {
				l.log.Info("rate limiter: Redis is reachable again; limits are shared")
			}
			q := quota{allowed: res.Allowed > 0, remaining: res.Remaining, resetAfter: res.ResetAfter}
			if !q.allowed {
				q.retryAfter = res.RetryAfter
			}
			return q
		}
		l.redisRetryAt.Store(now.Add(redisRetryAfter).UnixNano())
		l.redisDown.Store(true)
		if last := l.redisLogAt.Load(); now.UnixNano()-last >= int64(redisLogEvery) && l.redisLogAt.CompareAndSwap(last, now.UnixNano()) {
			l.log.Error("rate limiter: Redis unavailable; limiting with this process's own buckets", "error", err)
		}
	}
	return l.local.take(now, id)
}

// localBuckets are token buckets in this process's memory. A bucket idle
// long enough to have refilled is the same as a new one, so such buckets
// are dropped now and then.
type localBuckets struct {
	rps   float64
	burst int

	mu        sync.Mutex
	m         map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	lim      *rate.Limiter
	lastSeen time.Time
}

func (b *localBuckets) take(now time.Time, id string) quota {
	refill := time.Duration(float64(b.burst) / b.rps * float64(time.Second))
	b.mu.Lock()
	if now.Sub(b.lastSweep) > time.Minute {
		for k, bk := range b.m {
			if now.Sub(bk.lastSeen) > refill {
				delete(b.m, k)
			}
		}
		b.lastSweep = now
	}
	bk := b.m[id]
	if bk == nil {
		bk = &bucket{lim: rate.NewLimiter(rate.Limit(b.rps), b.burst)}
		b.m[id] = bk
	}
	bk.lastSeen = now
	ok := bk.lim.AllowN(now, 1)
	tokens := bk.lim.TokensAt(now)
	b.mu.Unlock()

	seconds := func(tokens float64) time.Duration {
		return time.Duration(tokens / b.rps * float64(time.Second))
	}
	q := quota{allowed: ok, remaining: max(int(math.Floor(tokens)), 0), resetAfter: seconds(float64(b.burst) - tokens)}
	if !ok {
		q.retryAfter = seconds(1 - tokens)
	}
	return q
}

// ceilSeconds rounds d up to whole seconds.
func ceilSeconds(d time.Duration) int {
	return int(math.Ceil(d.Seconds()))
}

// limit takes a token from bucket id, sets the RateLimit fields, and when
// the bucket is empty answers 429 and returns false.
func (s *server) limit(ctx huma.Context, id string) bool {
	if s.limiter == nil {
		return true
	}
	q := s.limiter.take(ctx.Context(), id)
	ctx.SetHeader("RateLimit-Policy", s.limiter.policy)
	ctx.SetHeader("RateLimit", `"default";r=`+strconv.Itoa(q.remaining)+";t="+strconv.Itoa(ceilSeconds(q.resetAfter)))
	if q.allowed {
		return true
	}
	bucket, _, _ := strings.Cut(id, ":")
	s.metrics.rejected(bucket)
	n := max(ceilSeconds(q.retryAfter), 1)
	fail(ctx, newError(http.StatusTooManyRequests,
		fmt.Sprintf("Rate limit exceeded, retry in %d seconds", n)).withHeader("Retry-After", strconv.Itoa(n)))
	return false
}

// rateLimit is the Huma middleware, after authenticate, that limits each API
// key. Operations without security (health) are not limited.
func (s *server) rateLimit(ctx huma.Context, next func(huma.Context)) {
	info := requestInfoFrom(ctx.Context())
	if info == nil || info.keyID == nil {
		next(ctx)
		return
	}
	if s.limit(ctx, "key:"+info.keyID.String()) {
		next(ctx)
	}
}
