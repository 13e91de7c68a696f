package api

import (
	"testing"

	"go.uber.org/goleak"
)

// No test of this package may leave a goroutine behind (a handler, limiter
// or stream still running).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
