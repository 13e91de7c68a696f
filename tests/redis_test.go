package tests

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"
	tcredis "github.com/testcontainers/testcontainers-go/modules/redis"
)

// The tests' Redis: $TEST_REDIS_URL when set, otherwise a redis:7 container
// ($TEST_REDIS_IMAGE) started by the first test that asks, shared by the
// rest of this test binary and removed when it ends.
var (
	redisOnce sync.Once
	redisURL  string
	redisErr  error
	redisCtr  *tcredis.RedisContainer
)

func testRedisURL(t testing.TB) string {
	t.Helper()
	if u := os.Getenv("TEST_REDIS_URL"); u != "" {
		return u
	}
	redisOnce.Do(func() {
		image := os.Getenv("TEST_REDIS_IMAGE")
		if image == "" {
			image = "redis:7"
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		redisCtr, redisErr = tcredis.Run(ctx, image)
		if redisErr != nil {
			redisErr = fmt.Errorf("start Redis with testcontainers (set TEST_REDIS_URL to use an existing server): %w", redisErr)
			return
		}
		redisURL, redisErr = redisCtr.ConnectionString(ctx)
	})
	if redisErr != nil {
		t.Fatal(redisErr)
	}
	return redisURL
}

// stopRedis removes the container, if one was started.
func stopRedis() {
	if redisCtr != nil {
		_ = testcontainers.TerminateContainer(redisCtr)
	}
}
