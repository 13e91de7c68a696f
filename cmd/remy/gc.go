package main

import (
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// defaultGOGC is serve's GOGC unless $GOGC says otherwise. A request's
// garbage is a few KiB and the live heap a few MiB, so the default of 100
// collects very often for a small saving; 400 cut GC's share of CPU under
// load (see README, Performance) for tens of MiB more heap at most.
const defaultGOGC = 400

// tuneGC sets serve's GC defaults. Without $GOMEMLIMIT, a cgroup memory
// limit (a container's) becomes a soft limit at 80 % of it, so a bigger
// GOGC can never be what runs the process out of memory.
func tuneGC(getenv func(string) string, log *slog.Logger) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGOGC)
	}
	if getenv("GOMEMLIMIT") != "" {
		return
	}
	b, err := os.ReadFile("/sys/fs/cgroup/memory.max")
	if err != nil {
		return
	}
	limit, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || limit <= 0 { // "max": no limit
		return
	}
	debug.SetMemoryLimit(limit / 10 * 8)
	log.Info("memory limit from cgroup", "cgroup_bytes", limit, "gomemlimit_bytes", limit/10*8)
}
