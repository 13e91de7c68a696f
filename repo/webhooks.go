package repo

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/remy-crm/remy/model"
	"github.com/remy-crm/remy/repo/egress"
)

// WebhookRepo stores webhook endpoints and their deliveries. Every method
// taking an account is scoped to it: another account's endpoint or
// delivery is ErrNotFound, exactly like a missing one.
type WebhookRepo struct {
	db        *bun.DB
	ev        *events
	endpoints owned[model.Webhook]
	policy    egress.Policy // where endpoints may point
}

// Create validates and stores an endpoint with a new secret, and logs
// webhook.created (without the secret). The returned endpoint carries its
// secret.
func (r *WebhookRepo) Create(ctx context.Context, actor model.Actor, w *model.Webhook) (*model.Webhook, error) {
	w.AccountID, w.Enabled = actor.AccountID, true
	if err := w.Validate(r.policy.AllowPrivate); err != nil {
		return nil, err
	}
	if err := r.policy.CheckURL(ctx, w.URL); err != nil {
		return nil, err
	}
	w.Secret = model.NewWebhookSecret()
	return r.endpoints.insert(ctx, actor, w)
}

// Get returns one endpoint of the account; ErrNotFound if there is none.
func (r *WebhookRepo) Get(ctx context.Context, accountID, id uuid.UUID) (*model.Webhook, error) {
	return getOwned[model.Webhook](ctx, r.db, accountID, id)
}

type webhookRow struct {
	model.Webhook `bun:",extend"`
	Total         int `bun:"total,scanonly"`
}

func (r webhookRow) item() model.Webhook { return r.Webhook }
func (r webhookRow) total() int          { return r.Total }

// List returns one page of the account's endpoints, newest first.
func (r *WebhookRepo) List(ctx context.Context, accountID uuid.UUID, p model.ListParams) (model.Page[model.Webhook], error) {
	return listPage[model.Webhook, webhookRow](ctx, r.db, p, func(q *bun.SelectQuery) *bun.SelectQuery {
		return q.Where("?TableAlias.account_id = ?", accountID)
	}, nil)
}

// Update applies a partial update and logs webhook.updated with the
// changes, in one transaction.
func (r *WebhookRepo) Update(ctx context.Context, actor model.Actor, id uuid.UUID, patch model.WebhookPatch) (*model.Webhook, error) {
	if patch.URL.Set && patch.URL.Value != nil {
		// Before the transaction: a slow resolver must not hold the row lock.
		if err := r.policy.CheckURL(ctx, *patch.URL.Value); err != nil {
			return nil, err
		}
	}
	return r.endpoints.update(ctx, actor, id, nil, func(w *model.Webhook) (map[string]model.Change, error) {
		return patch.Apply(w, r.policy.AllowPrivate)
	}, "url", "events", "description", "enabled", "disabled_reason", "consecutive_failures")
}

// Delete removes an endpoint, and with it its deliveries (pending ones are
// dropped: their jobs find nothing to send), and logs webhook.deleted.
func (r *WebhookRepo) Delete(ctx context.Context, actor model.Actor, id uuid.UUID) error {
	return r.endpoints.delete(ctx, actor, id, nil, nil)
}

// RotateSecret gives the endpoint a new secret; the old one keeps signing,
// beside it, for model.WebhookSecretOverlap. It logs webhook.secret_rotated
// (no secret in it) and returns the endpoint with its new secret.
func (r *WebhookRepo) RotateSecret(ctx context.Context, actor model.Actor, id uuid.UUID) (*model.Webhook, error) {
	var out *model.Webhook
	err := inTx(ctx, r.db, func(ctx context.Context, tx bun.Tx) error {
		w, err := lockOwned[model.Webhook](ctx, tx, actor.AccountID, id, nil)
		if err != nil {
			return err
		}
		old := w.Secret
		w.Secret = model.NewWebhookSecret()
		_, err = tx.NewUpdate().Model(w).
			Set("previous_secret = ?", old).
			Set("previous_secret_until = clock_timestamp() + ?::interval", fmt.Sprintf("%d seconds", int(model.WebhookSecretOverlap.Seconds()))).
			Set("secret = ?", w.Secret).
			Set("version = version + 1").
			Set("updated_at = clock_timestamp()").
			WherePK().
			Returning("*").
			Exec(ctx)
		if err != nil {
			return err
		}
		out = w
		return r.ev.log(ctx, model.NewActivity(actor, model.ActionWebhookSecretRotated, model.ResourceWebhook, id, nil), nil)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Ping queues a webhook.ping event for one endpoint, whatever its event
// filter, and returns its delivery. The object is the endpoint itself.
// A ping is one attempt, made at once like a manual retry: it has no
// schedule, so its next_attempt_at is NULL, not the column's default (with
// that, the worker took the attempt for a manual retry within a running
// schedule and left the delivery pending, due in the past, forever).
func (r *WebhookRepo) Ping(ctx context.Context, accountID, id uuid.UUID) (*model.Delivery, error) {
	var d *model.Delivery
	err := inTx(ctx, r.db, func(ctx context.Context, tx bun.Tx) error {
		w, err := getOwned[model.Webhook](ctx, tx, accountID, id)
		if err != nil {
			return err
		}
		obj, err := json.Marshal(w)
		if err != nil {
			return err
		}
		d = &model.Delivery{
			AccountID: accountID, EndpointID: id, EventID: uuid.New(),
			EventType: model.EventPing, Object: obj, Status: model.DeliveryPending,
		}
		if _, err := tx.NewInsert().Model(d).Value("next_attempt_at", "NULL").Returning("*").Exec(ctx); err != nil {
			return err
		}
		return r.ev.enqueue(ctx, tx, []uuid.UUID{d.ID}, true)
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

type deliveryRow struct {
	model.Delivery `bun:",extend"`
	Total          int `bun:"total,scanonly"`
}

func (r deliveryRow) item() model.Delivery { return r.Delivery }
func (r deliveryRow) total() int           { return r.Total }

// Deliveries returns one page of an endpoint's deliveries, newest first.
// An unknown or foreign endpoint is ErrNotFound, not an empty list.
func (r *WebhookRepo) Deliveries(ctx context.Context, accountID, endpointID uuid.UUID, f model.DeliveryFilter) (model.Page[model.Delivery], error) {
	filter := func(q *bun.SelectQuery) *bun.SelectQuery {
		q = q.Where("?TableAlias.account_id = ? AND ?TableAlias.endpoint_id = ?", accountID, endpointID)
		if f.Status != "" {
			q = q.Where("?TableAlias.status = ?", f.Status)
		}
		return q
	}
	return listPage[model.Delivery, deliveryRow](ctx, r.db, f.ListParams, filter, func(ctx context.Context) (int, error) {
		if _, err := getOwned[model.Webhook](ctx, r.db, accountID, endpointID); err != nil {
			return 0, err
		}
		n, err := r.db.NewSelect().Model((*model.Delivery)(nil)).Apply(filter).Count(ctx)
		return int(n), err
	})
}

// Retry queues one more attempt at a delivery, now, with the same event id,
// whatever its status. The delivery keeps its status until the attempt is
// made; a pending one keeps its schedule if the attempt fails.
func (r *WebhookRepo) Retry(ctx context.Context, accountID, endpointID, deliveryID uuid.UUID) (*model.Delivery, error) {
	var d *model.Delivery
	err := inTx(ctx, r.db, func(ctx context.Context, tx bun.Tx) error {
		var err error
		d, err = lockOwned[model.Delivery](ctx, tx, accountID, deliveryID, func(d *model.Delivery) error {
			if d.EndpointID != endpointID {
				return model.ErrNotFound
			}
			return nil
		})
		if err != nil {
			return err
		}
		return r.ev.enqueue(ctx, tx, []uuid.UUID{d.ID}, true)
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// DeliveryAttempt is what the worker needs for one attempt.
type DeliveryAttempt struct {
	Delivery *model.Delivery
	Endpoint *model.Webhook
	// Activity is the event's Activity Log entry; nil for a ping.
	Activity *model.Activity
}

// LoadAttempt reads a delivery with its endpoint and Activity Log entry.
// ErrNotFound: the delivery is gone (its endpoint was deleted).
func (r *WebhookRepo) LoadAttempt(ctx context.Context, deliveryID uuid.UUID) (*DeliveryAttempt, error) {
	d := new(model.Delivery)
	if err := r.db.NewSelect().Model(d).Where("id = ?", deliveryID).Scan(ctx); err != nil {
		return nil, interpretError(err)
	}
	w, err := getOwned[model.Webhook](ctx, r.db, d.AccountID, d.EndpointID)
	if err != nil {
		return nil, err
	}
	out := &DeliveryAttempt{Delivery: d, Endpoint: w}
	if d.EventType != model.EventPing {
		a := new(model.Activity)
		err := r.db.NewSelect().Model(a).Where("account_id = ? AND id = ?", d.AccountID, d.EventID).Scan(ctx)
		if err != nil {
			return nil, interpretError(err)
		}
		out.Activity = a
	}
	return out, nil
}

// Disabled reasons.
const (
	reasonGone     = "The endpoint answered 410 Gone"
	reasonFailures = "The last %d deliveries failed"
)

// RecordAttempt stores the outcome of one attempt. A delivery ending failed
// on its schedule counts toward disabling the endpoint; a success resets
// the count; a 410 disables the endpoint at once.
func (r *WebhookRepo) RecordAttempt(ctx context.Context, deliveryID uuid.UUID, a model.Attempt) error {
	return inTx(ctx, r.db, func(ctx context.Context, tx bun.Tx) error {
		status := model.DeliveryPending
		switch {
		case a.Succeeded:
			status = model.DeliverySucceeded
		case a.Final:
			status = model.DeliveryFailed
		}
		scheduled := 1
		if a.Manual {
			scheduled = 0
		}
		d := new(model.Delivery)
		_, err := tx.NewUpdate().Model(d).
			Set("status = ?", status).
			Set("attempts = attempts + 1").
			Set("scheduled_attempts = scheduled_attempts + ?", scheduled).
			Set("last_attempt_at = ?", a.At).
			Set("next_attempt_at = ?", a.Next).
			Set("last_status_code = ?", a.StatusCode).
			Set("last_error = ?", a.Error).
			Where("id = ?", deliveryID).
			Returning("account_id, endpoint_id").
			Exec(ctx)
		if err != nil {
			return err
		}
		if d.EndpointID == uuid.Nil {
			return nil // deleted meanwhile
		}
		q := tx.NewUpdate().Model((*model.Webhook)(nil)).Where("account_id = ? AND id = ?", d.AccountID, d.EndpointID)
		switch {
		case a.Gone:
			q = q.Set("enabled = false").Set("disabled_reason = ?", reasonGone).Where("enabled")
		case a.Succeeded:
			q = q.Set("consecutive_failures = 0").Where("consecutive_failures <> 0")
		case a.Final && !a.Manual:
			q = q.Set("consecutive_failures = consecutive_failures + 1").
				Set("enabled = enabled AND consecutive_failures + 1 < ?", model.WebhookFailuresToDisable).
				Set("disabled_reason = CASE WHEN enabled AND consecutive_failures + 1 >= ? THEN ? ELSE disabled_reason END",
					model.WebhookFailuresToDisable, fmt.Sprintf(reasonFailures, model.WebhookFailuresToDisable))
		default:
			return nil
		}
		_, err = q.Set("version = version + 1").Set("updated_at = clock_timestamp()").Exec(ctx)
		return err
	})
}

// PurgeDeliveries deletes deliveries created before cutoff.
func (r *WebhookRepo) PurgeDeliveries(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := r.db.NewDelete().Model((*model.Delivery)(nil)).Where("created_at < ?", cutoff).Exec(ctx)
	if err != nil {
		return 0, interpretError(err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
