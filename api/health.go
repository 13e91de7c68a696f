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

func (s *server) registerHealth() {
	huma.Register(s.api, huma.Operation{
		OperationID: "healthz",
		Method:      http.MethodGet,
		Path:        "/healthz",
		Summary:     "Liveness",
		Description: "Answers 200 while the process is up. Needs no API key.",
		Tags:        []string{"Operations"},
		Security:    public,
		Errors:      []int{http.StatusUnprocessableEntity},
	}, func(ctx context.Context, _ *struct{}) (*healthResponse, error) {
		return &healthResponse{Body: healthBody{Status: "ok"}}, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "readyz",
		Method:      http.MethodGet,
		Path:        "/readyz",
		Summary:     "Readiness",
		Description: "Answers 200 when the database is reachable and 503 otherwise. Needs no API key.",
		Tags:        []string{"Operations"},
		Security:    public,
		Errors:      []int{http.StatusUnprocessableEntity, http.StatusServiceUnavailable},
	}, func(ctx context.Context, _ *struct{}) (*healthResponse, error) {
		ctx, cancel := context.WithTimeout(ctx, readyTimeout)
		defer cancel()
		if err := s.db.Ping(ctx); err != nil {
			logger(ctx).Warn("readiness check failed", "error", err)
			return nil, newError(http.StatusServiceUnavailable, msgUnavailable)
		}
		return &healthResponse{Body: healthBody{Status: "ok"}}, nil
	})
}
