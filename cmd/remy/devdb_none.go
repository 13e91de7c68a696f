//go:build !dev

package main

import (
	"context"
	"errors"
)

// devContainers says whether this binary can start a Postgres container.
const devContainers = false

// startDevPostgres is not compiled into production builds: testcontainers
// would add a Docker client and its dependencies (about 6 MB, 38 → 44 MB)
// to every server for a command only newcomers run. 'task dev' builds with
// -tags dev.
func startDevPostgres(context.Context) (string, func(), error) {
	return "", nil, errors.New("this remy was built without container support: set DATABASE_URL, or run 'go tool task dev' (which builds with -tags dev)")
}
