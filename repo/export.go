package repo

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/remy-crm/remy/model"
)

// ExportRepo reads whole accounts for export, row by row.
type ExportRepo struct{ db *bun.DB }

// Snapshot is one account frozen at one instant: a READ ONLY, REPEATABLE
// READ transaction, so contacts and notes are read as of the same moment.
// It holds a connection until Close; rows are streamed from a cursor, never
// collected, so memory stays flat however large the account is.
type Snapshot struct {
	db      *bun.DB
	tx      bun.Tx
	Account *model.Account
	// At is the instant the snapshot shows (the transaction's start).
	At time.Time
}

// Begin opens a snapshot of the account. The context bounds the whole
// snapshot: when it is cancelled (the client went away) the running query is
// cancelled and the transaction rolled back.
func (r *ExportRepo) Begin(ctx context.Context, accountID uuid.UUID) (*Snapshot, error) {
	tx, err := r.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return nil, interpretError(err)
	}
	snap := &Snapshot{db: r.db, tx: tx, Account: new(model.Account)}
	// An export's transaction sits idle while a slow client drains what
	// was sent; the API cuts a client stalled for a minute, so the server's
	// idle limit must be longer than that. The statement does not take the
	// snapshot (SET is a utility command).
	_, err = tx.ExecContext(ctx, "SET LOCAL idle_in_transaction_session_timeout = '90s'")
	// The first query fixes the snapshot; now() is its instant.
	if err == nil {
		err = tx.NewRaw("SELECT now()").Scan(ctx, &snap.At)
	}
	if err == nil {
		err = tx.NewSelect().Model(snap.Account).Where("id = ?", accountID).Scan(ctx)
	}
	if err != nil {
		_ = tx.Rollback()
		return nil, interpretError(err)
	}
	snap.At = snap.At.UTC()
	return snap, nil
}

// Close ends the snapshot. It is safe to call more than once.
func (s *Snapshot) Close() error {
	err := s.tx.Rollback()
	if err == sql.ErrTxDone {
		return nil
	}
	return err
}

// Contacts calls fn for each of the account's contacts, oldest first. The
// contact passed is reused for the next row: fn must not keep it. An error
// from fn stops the walk and is returned.
func (s *Snapshot) Contacts(ctx context.Context, fn func(*model.Contact) error) error {
	q := s.tx.NewSelect().Model((*model.Contact)(nil)).
		Where("account_id = ?", s.Account.ID).
		OrderExpr("created_at, id")
	c := new(model.Contact)
	return walk(ctx, s.db, q, func() any { *c = model.Contact{}; return c }, func() error { return fn(c) })
}

// Notes calls fn for each of the account's notes, oldest first, under the
// same rules as Contacts.
func (s *Snapshot) Notes(ctx context.Context, fn func(*model.Note) error) error {
	q := s.tx.NewSelect().Model((*model.Note)(nil)).
		Where("account_id = ?", s.Account.ID).
		OrderExpr("created_at, id")
	n := new(model.Note)
	return walk(ctx, s.db, q, func() any { *n = model.Note{}; return n }, func() error { return fn(n) })
}

// walk runs q and scans its rows one at a time into dest(), calling fn after
// each.
func walk(ctx context.Context, db *bun.DB, q *bun.SelectQuery, dest func() any, fn func() error) error {
	rows, err := q.Rows(ctx)
	if err != nil {
		return interpretError(err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := db.ScanRow(ctx, rows, dest()); err != nil {
			return fmt.Errorf("scan: %w", interpretError(err))
		}
		if err := fn(); err != nil {
			return err
		}
	}
	return interpretError(rows.Err())
}

// contactNotes is a contact with the bodies of its notes.
type contactNotes struct {
	model.Contact `bun:",extend"`
	Notes         []string `bun:"notes,array,scanonly"`
}

// ContactsWithNotes is Contacts with the bodies of each contact's notes,
// oldest first, read in the same statement (one index range each).
func (s *Snapshot) ContactsWithNotes(ctx context.Context, fn func(*model.Contact, []string) error) error {
	q := s.tx.NewSelect().Model((*contactNotes)(nil)).
		ColumnExpr("?TableColumns").
		ColumnExpr(`ARRAY(SELECT n.body FROM notes n WHERE n.account_id = c.account_id AND n.contact_id = c.id
			ORDER BY n.created_at, n.id) AS notes`).
		Where("c.account_id = ?", s.Account.ID).
		OrderExpr("c.created_at, c.id")
	row := new(contactNotes)
	return walk(ctx, s.db, q, func() any { *row = contactNotes{}; return row }, func() error { return fn(&row.Contact, row.Notes) })
}
