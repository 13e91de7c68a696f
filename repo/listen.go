package repo

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// listener is one LISTEN connection of its own (not a pooled one: it is
// held for good), reconnecting with backoff until its context ends.
type listener struct {
	channel string
	// off is logged, with the error, when the connection is lost.
	off string
	// live is told when notifications start to arrive (after LISTEN, so
	// whatever happened before must be assumed missed) and when they stop.
	live func(up bool)
	// notify receives each notification's payload.
	notify func(payload string)
}

// start runs l on dsn in the background until ctx ends.
func (l listener) start(ctx context.Context, dsn string, log *slog.Logger) error {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return err
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 5 * time.Second
	}
	go func() {
		backoff := 100 * time.Millisecond
		for ctx.Err() == nil {
			err := l.once(ctx, cfg)
			l.live(false)
			if ctx.Err() != nil {
				return
			}
			log.Warn(l.off, "error", err)
			select {
			case <-ctx.Done():
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 5*time.Second)
		}
	}()
	return nil
}

// once runs one LISTEN connection until it fails.
func (l listener) once(ctx context.Context, cfg *pgx.ConnConfig) error {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+l.channel); err != nil {
		return err
	}
	l.live(true)
	for {
		// A connection that dies silently is noticed by TCP keepalive.
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		l.notify(n.Payload)
	}
}
