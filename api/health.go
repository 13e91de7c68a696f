package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
)

// readyTimeout bounds /readyz, so a load balancer's probe learns of a
// stalled database in time, whatever the request deadline.
const readyTimeout = 1500 * time.Millisecond

type healthBody struct {
	Status string `json:"status" example:"ok" doc:"ok when healthy."`
}

type healthResponse struct {
	Body healthBody
}

const msgDatabaseUnreachable = "Database unreachable"

func (s *server) registerHealth() {
	huma.Register(s.api, huma.Operation{
		OperationID: "healthz",
		Method:      http.MethodGet,
		Path:        "/healthz",
		Summary:     "Liveness",
		Description: "Answers 200 while the process is up. Needs no API key.",
		Tags:        []string{"Operations"},
		Security:    public,
		// No parameters: SkipValidateParams keeps a stray query string from being a 422.
		SkipValidateParams: true,
	}, func(ctx context.Context, _ *struct{}) (*healthResponse, error) {
		return &healthResponse{Body: healthBody{Status: "ok"}}, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID:        "readyz",
		Method:             http.MethodGet,
		Path:               "/readyz",
		Summary:            "Readiness",
		Description:        "Answers 200 when the database is reachable and 503 otherwise. Needs no API key.",
		Tags:               []string{"Operations"},
		Security:           public,
		SkipValidateParams: true,
		Errors:             []int{http.StatusServiceUnavailable},
		Metadata:           map[string]any{errorExamplesKey: map[int][]string{http.StatusServiceUnavailable: {msgDatabaseUnreachable}}},
	}, func(ctx context.Context, _ *struct{}) (*healthResponse, error) {
		ctx, cancel := context.WithTimeout(ctx, readyTimeout)
		defer cancel()
		if err := s.store.Ping(ctx); err != nil {
			logger(ctx).Warn("readiness check failed", "error", err)
			return nil, newError(http.StatusServiceUnavailable, msgDatabaseUnreachable)
		}
		return &healthResponse{Body: healthBody{Status: "ok"}}, nil
	})
}
