//go:build dev

package main

import (
	"context"
	"fmt"
	"os"

	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/modules/postgres"
)

// devContainers says whether this binary can start a Postgres container.
const devContainers = true

// startDevPostgres starts a throwaway Postgres container (postgres:17, or
// $TEST_POSTGRES_IMAGE) and returns its DSN and the function removing it.
func startDevPostgres(ctx context.Context) (string, func(), error) {
	image := os.Getenv("TEST_POSTGRES_IMAGE")
	if image == "" {
		image = "postgres:17"
	}
	ctr, err := postgres.Run(ctx, image,
		postgres.WithDatabase("remy"),
		postgres.WithUsername("remy"),
		postgres.WithPassword("remy"),
		postgres.BasicWaitStrategies(),
	)
	stop := func() {
		if ctr != nil {
			// The caller's context is done by now (Ctrl-C): clean up regardless.
			_ = testcontainers.TerminateContainer(ctr)
		}
	}
	if err != nil {
		stop()
		return "", nil, fmt.Errorf("start Postgres container (is Docker running?): %w", err)
	}
	dsn, err := ctr.ConnectionString(ctx, "sslmode=disable")
	if err != nil {
		stop()
		return "", nil, err
	}
	return dsn, stop, nil
}
