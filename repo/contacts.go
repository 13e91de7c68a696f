package repo

import (
	"context"
	"reflect"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/remy-crm/remy/model"
)

// ContactRepo stores contacts. Every method is scoped to one account: a
// contact of another account is ErrNotFound, exactly like a missing one.
type ContactRepo struct {
	db       *bun.DB
	ev       *events
	contacts owned[model.Contact] // for Delete
	region   string               // of phone numbers without a country code
	// phoneKeys remembers the keys of the phone numbers it has seen.
	phoneKeys *model.PhoneKeys
}

// Create inserts a contact for actor's account and logs contact.created in
// the same transaction (the caller's, inside Store.InTx). It returns a
// ValidationError for domain rule violations (including an introducedById
// outside the account).
func (r *ContactRepo) Create(ctx context.Context, actor model.Actor, c *model.Contact) (*model.Contact, error) {
	c.AccountID = actor.AccountID
	if err := c.Normalize(); err != nil {
		return nil, err
	}
	if err := r.create(ctx, actor, c); err != nil {
		return nil, interpretError(err)
	}
	return c, nil
}

// Get returns one contact of the account; ErrNotFound if there is none.
func (r *ContactRepo) Get(ctx context.Context, accountID, id uuid.UUID) (*model.Contact, error) {
	c := new(model.Contact)
	args := getContactSQL.args(func(name string) (any, bool) {
		switch name {
		case "account_id":
			return pgUUID(accountID), true
		case "id":
			return pgUUID(id), true
		}
		return nil, false
	})
	err := withPgx(ctx, r.db, func(conn *pgx.Conn) error {
		return conn.QueryRow(ctx, getContactSQL.sql, append([]any{pgx.QueryExecModeCacheStatement}, args...)...).Scan(contactTargets(c)...)
	})
	if err != nil {
		return nil, interpretError(err)
	}
	return c, nil
}

type contactRow struct {
	model.Contact `bun:",extend"`
	Total         int `bun:"total,scanonly"`
}

// contactOrder is the ORDER BY of a sort, written exactly as the sort-key
// indexes of migration 000005 are, so the planner can walk one and stop after
// a page: nulls last in both directions (ASC puts them last by default; the
// timestamps are NOT NULL), and the id, in the same direction, breaks ties so
// pages never overlap or skip.
func contactOrder(s model.ContactSort) string {
	// The only text of an ORDER BY that comes from a request, and it comes
	// from the field table, for a key ParseContactSort admitted.
	f, ok := model.ContactFields.ByJSON(string(s.Key))
	if !ok || !slices.Contains(model.ContactSortKeys, s.Key) {
		f, _ = model.ContactFields.ByJSON(string(model.DefaultContactSort.Key))
		s = model.DefaultContactSort
	}
	switch {
	case !s.Desc:
		return "c." + f.Column + " ASC, c.id ASC"
	case f.Type.Kind() != reflect.Pointer: // NOT NULL
		return "c." + f.Column + " DESC, c.id DESC"
	default:
		return "c." + f.Column + " DESC NULLS LAST, c.id DESC"
	}
}

// likeEscaper makes every character of a search term literal in a LIKE
// pattern (backslash is LIKE's default escape character).
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// contactFilter narrows a query over "contacts AS c" to the account and f.
// Every value is a bound argument. Each term is normalised by the same
// function as the _search column it is matched against; with the term a
// constant, the planner folds that call and can look its trigrams up in
// contacts_search_idx.
func contactFilter(accountID uuid.UUID, f model.ContactFilter) func(*bun.SelectQuery) *bun.SelectQuery {
	return func(q *bun.SelectQuery) *bun.SelectQuery {
		q = q.Where("c.account_id = ?", accountID)
		for _, t := range f.Terms {
			q = q.Where("c._search LIKE '%' || lower(remy_unaccent(?)) || '%'", likeEscaper.Replace(t))
		}
		if len(f.Tags) > 0 {
			q = q.Where("c.tags @> ?::text[]", pgdialect.Array(f.Tags))
		}
		if f.IntroducedByID != uuid.Nil {
			q = q.Where("c.introduced_by_id = ?", f.IntroducedByID)
		}
		if !f.UpdatedSince.IsZero() {
			q = q.Where("c.updated_at >= ?", f.UpdatedSince)
		}
		return q
	}
}

// List returns one page of the account's contacts that match f, in f's
// order, and the count of all that match.
//
// The page and its total come from one statement, so one snapshot. The
// total is a scalar subquery planned on its own: unfiltered (or filtered by
// one tag alone), it sums the account's contact_counts (tag_counts), kept by
// triggers in the writing transaction, instead of counting 100,000 rows;
// otherwise it counts with whichever index suits the filter, while the page
// walks the sort key's index and stops after limit rows. (count(*) OVER () would make every page read, and
// buffer, every match.) Bun sends the statement as text with its arguments
// inlined, unprepared, so each one gets a plan for its own values: a generic
// plan, which cannot see how common a term is, never applies.
func (r *ContactRepo) List(ctx context.Context, accountID uuid.UUID, f model.ContactFilter) (model.Page[model.Contact], error) {
	filter := contactFilter(accountID, f)
	var total *bun.SelectQuery
	switch {
	case !f.Filtered():
		total = r.db.NewSelect().TableExpr("contact_counts").
			ColumnExpr("coalesce(sum(n), 0)").
			Where("account_id = ?", accountID)
	case f.OnlyTag() != "":
		// One tag and nothing else: the count GET /api/v1/tags shows, kept
		// by the same kind of trigger.
		total = r.db.NewSelect().TableExpr("tag_counts").
			ColumnExpr("coalesce(sum(n), 0)").
			Where("account_id = ? AND tag = ?", accountID, f.OnlyTag())
	default:
		total = r.db.NewSelect().TableExpr("contacts AS c").ColumnExpr("count(*)").Apply(filter)
	}
	var rows []contactRow
	err := r.db.NewSelect().Model(&rows).
		ColumnExpr("?TableColumns").
		ColumnExpr("(?) AS total", total).
		Apply(filter).
		OrderExpr(contactOrder(f.Sort)).
		Limit(int64(f.Limit)).Offset(int64(f.Offset)).
		Scan(ctx)
	if err != nil {
		return model.Page[model.Contact]{}, interpretError(err)
	}
	page := model.Page[model.Contact]{Items: make([]model.Contact, len(rows))}
	for i, row := range rows {
		page.Items[i], page.Total = row.Contact, row.Total
	}
	if len(rows) == 0 && f.Offset > 0 {
		// Past the end: no row carried the total.
		if err := total.Scan(ctx, &page.Total); err != nil {
			return model.Page[model.Contact]{}, interpretError(err)
		}
	}
	return page, nil
}

// Update applies a partial update and logs contact.updated with the changed
// fields, in one transaction (the caller's, inside Store.InTx). The write
// applies only to the version the precondition was checked against, so the
// check and the write are one atomic step.
func (r *ContactRepo) Update(ctx context.Context, actor model.Actor, id uuid.UUID, patch model.ContactPatch, check model.Precondition[model.Contact]) (*model.Contact, error) {
	return r.update(ctx, actor, id, patch, check)
}

// Delete removes a contact and its notes and logs contact.deleted (and
// note.deleted for each note), in one transaction. Contacts it introduced
// lose the link, get a new version and each its contact.updated: every
// change is an event.
func (r *ContactRepo) Delete(ctx context.Context, actor model.Actor, id uuid.UUID, check model.Precondition[model.Contact]) error {
	return r.contacts.delete(ctx, actor, id, check,
		func(ctx context.Context, tx bun.Tx) error {
			if err := r.unlinkIntroduced(ctx, tx, actor, id); err != nil {
				return err
			}
			// Its notes go by ON DELETE CASCADE; each gets its note.deleted entry.
			return r.ev.logCascadedNoteDeletes(ctx, actor, id)
		})
}

// unlinkIntroduced clears introducedById on every contact that id
// introduced, and logs contact.updated for each.
func (r *ContactRepo) unlinkIntroduced(ctx context.Context, tx bun.Tx, actor model.Actor, id uuid.UUID) error {
	var ids []uuid.UUID
	err := tx.NewSelect().Model((*model.Contact)(nil)).Column("id").
		Where("account_id = ? AND introduced_by_id = ?", actor.AccountID, id).
		Order("id").For("UPDATE").Scan(ctx, &ids)
	if err != nil || len(ids) == 0 {
		return err
	}
	if err := checkFresh(ctx, tx, "contacts", actor.AccountID, append(ids, id)); err != nil {
		return err
	}
	var unlinked []model.Contact
	err = tx.NewUpdate().Model((*model.Contact)(nil)).
		Set("introduced_by_id = NULL").
		Set("version = version + 1").
		Set("updated_at = clock_timestamp()").
		Where("account_id = ? AND id IN (?)", actor.AccountID, bun.List(ids)).
		Returning("*").
		Scan(ctx, &unlinked)
	if err != nil {
		return err
	}
	changes := map[string]model.Change{"introducedById": {Before: id, After: nil}}
	entries := make([]Entry, len(unlinked))
	for i := range unlinked {
		c := &unlinked[i]
		entries[i] = Entry{model.NewActivity(actor, model.ActionContactUpdated, model.ResourceContact, c.ID, changes), c}
	}
	return r.ev.logMany(ctx, entries)
}
