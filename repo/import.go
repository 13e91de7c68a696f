package repo

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"

	"github.com/remy-crm/remy/model"
)

// An import writes in bulk: one statement inserts every new contact, one
// updates every contact items are merged into, one inserts every note, and
// logMany writes every Activity Log entry, feed event and delivery, so
// 10,000 cards cost a handful of round trips rather than 10,000 writes.
// The rows travel as one JSON array that jsonb_populate_recordset turns
// into rows of the contacts table's own type, so its columns come from
// model.ContactFields like every other contact statement's.

var (
	// insertContactsSQL inserts @rows in their order, with the ids they
	// carry, and returns each new row's id and times.
	insertContactsSQL = named(`WITH c AS (
	INSERT INTO contacts (id, account_id, ` + contactSettable(", ", "%s") + `)
	SELECT r.id, @account_id, ` + contactSettable(", ", "r.%s") + `
	FROM jsonb_populate_recordset(NULL::contacts, @rows::jsonb) WITH ORDINALITY AS r
	ORDER BY r.ordinality
	RETURNING id, created_at, updated_at
)
SELECT coalesce(array_agg(id), '{}'), coalesce(array_agg(created_at), '{}'), coalesce(array_agg(updated_at), '{}') FROM c`)

	// updateContactsSQL sets every settable column of the account's
	// contacts named by @rows' ids, with a new version, and returns each
	// one's id, version and update time.
	updateContactsSQL = named(`WITH c AS (
	UPDATE contacts c SET ` + contactSettable(", ", "%[1]s = r.%[1]s") + `,
		version = c.version + 1, updated_at = clock_timestamp()
	FROM jsonb_populate_recordset(NULL::contacts, @rows::jsonb) AS r
	WHERE c.account_id = @account_id AND c.id = r.id
	RETURNING c.id, c.version, c.updated_at
)
SELECT coalesce(array_agg(id), '{}'), coalesce(array_agg(version), '{}'), coalesce(array_agg(updated_at), '{}') FROM c`)

	// insertNotesSQL inserts notes given as parallel arrays, in order, and
	// returns each one's id and times.
	insertNotesSQL = named(`WITH n AS (
	INSERT INTO notes (id, account_id, contact_id, body)
	SELECT x.id, @account_id, x.contact_id, x.body
	FROM unnest(@ids::uuid[], @contact_ids::uuid[], @bodies::text[]) WITH ORDINALITY AS x(id, contact_id, body, n)
	ORDER BY x.n
	RETURNING id, created_at, updated_at
)
SELECT coalesce(array_agg(id), '{}'), coalesce(array_agg(created_at), '{}'), coalesce(array_agg(updated_at), '{}') FROM n`)
)

// Import adds the items to actor's account as model.PlanImport decides
// (created, merged into a duplicate, skipped) and reports each one's
// outcome. Everything is written in one transaction, entries and events
// included, with actor's key, address and user agent: contact.created for
// each new contact, contact.updated (with its changes) for each contact
// items were merged into, note.created for each note. A dry run plans the
// same way and writes nothing. Items that break a rule fail alone; an
// error of the database fails the whole import, and nothing is written.
func (r *ContactRepo) Import(ctx context.Context, actor model.Actor, items []model.ImportItem, opts model.ImportOptions) (*model.ImportResult, error) {
	normalizeImport(items, actor.AccountID)
	res := &model.ImportResult{}
	if opts.DryRun {
		existing, err := importExisting(ctx, conn(ctx, r.db), actor.AccountID)
		if err != nil {
			return nil, interpretError(err)
		}
		res.Outcomes = dryRun(model.PlanImport(items, existing, opts.OnDuplicate, r.phoneKeys.Key))
		res.Count()
		return res, nil
	}
	err := inTx(ctx, r.db, func(ctx context.Context, tx bun.Tx) error {
		existing, err := importExisting(ctx, tx, actor.AccountID)
		if err != nil {
			return err
		}
		res.Outcomes = model.PlanImport(items, existing, opts.OnDuplicate, r.phoneKeys.Key)
		ids := make(map[uuid.UUID]bool, len(existing))
		for _, c := range existing {
			ids[c.ID] = true
		}
		model.ResolveIntroducers(items, res.Outcomes, func(id uuid.UUID) bool { return ids[id] })
		return r.writeImport(ctx, tx, actor, model.FoldImport(items, res.Outcomes, r.region))
	})
	if err != nil {
		return nil, err
	}
	res.Count()
	if sessionOf(ctx) == nil && res.Created+res.Merged > 0 {
		// Committed: make it searchable at full speed now (see
		// AfterBulkWrite). In a caller's transaction (Idempotency-Key) the
		// rows are not committed yet; the background refresh follows.
		// Either way the contacts are stored, so a failure here is not the
		// import's.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), afterBulkTimeout)
		defer cancel()
		_ = r.AfterBulkWrite(actx, actor.AccountID, res.Created+res.Merged)
	}
	return res, nil
}

// afterBulkTimeout bounds AfterBulkWrite after an import.
const afterBulkTimeout = 30 * time.Second

// normalizeImport puts every item that has not failed in its stored form,
// failing those that break a rule (a note's rule is keyed "notes").
func normalizeImport(items []model.ImportItem, accountID uuid.UUID) {
	for i := range items {
		it := &items[i]
		if it.Err != nil {
			continue
		}
		it.Contact.AccountID = accountID
		verr := &model.ValidationError{}
		if err := it.Contact.Normalize(); err != nil {
			verr = model.AsValidationError(err)
		}
		for _, body := range it.Notes {
			if err := (&model.Note{Body: body}).Validate(); err != nil {
				for _, msg := range model.AsValidationError(err).Fields["body"] {
					verr.Field("notes", msg)
				}
			}
		}
		if !verr.Empty() {
			it.Err = verr
		}
	}
}

// importExisting reads what PlanImport compares of the account's
// contacts, oldest first.
func importExisting(ctx context.Context, db bun.IDB, accountID uuid.UUID) ([]model.Contact, error) {
	var cs []model.Contact
	err := db.NewSelect().Model(&cs).Column(duplicateColumns...).
		Where("account_id = ?", accountID).
		OrderExpr("created_at, id").
		Scan(ctx)
	return cs, err
}

// dryRun hides the ids of the contacts a dry run would create: they will
// never exist.
func dryRun(outcomes []model.ImportOutcome) []model.ImportOutcome {
	created := map[uuid.UUID]bool{}
	for i := range outcomes {
		o := &outcomes[i]
		if o.Status == model.ImportCreated {
			created[o.ID], o.ID = true, uuid.Nil
		}
		if created[o.ID] {
			o.ID = uuid.Nil
		}
		if created[o.DuplicateOf] {
			o.DuplicateOf = uuid.Nil
		}
	}
	return outcomes
}

// writeImport writes w in the transaction of ctx: the merges' targets
// locked first, then the new contacts, the merged ones, the notes, and
// every entry with its event, in that order.
func (r *ContactRepo) writeImport(ctx context.Context, tx bun.Tx, actor model.Actor, w model.ImportWrites) error {
	targets, err := lockImportTargets(ctx, tx, actor.AccountID, w.MergeOrder)
	if err != nil {
		return err
	}
	s := sessionOf(ctx)
	var entries []Entry
	err = s.pgx(func(conn *pgx.Conn) error {
		created, err := insertContacts(ctx, conn, actor.AccountID, w.Created)
		if err != nil {
			return err
		}
		for i := range created {
			a := model.NewActivity(actor, model.ActionContactCreated, model.ResourceContact, created[i].ID, nil)
			entries = append(entries, Entry{a, &created[i]})
		}
		merged, err := r.mergeImported(ctx, conn, actor, w, targets)
		if err != nil {
			return err
		}
		entries = append(entries, merged...)
		notes, err := insertNotes(ctx, conn, actor.AccountID, w.Notes)
		for i := range notes {
			a := model.NewActivity(actor, model.ActionNoteCreated, model.ResourceNote, notes[i].ID, nil)
			entries = append(entries, Entry{a, &notes[i]})
		}
		return err
	})
	if err != nil {
		return err
	}
	return r.ev.logMany(ctx, entries)
}

// lockImportTargets reads the existing contacts items are merged into FOR
// UPDATE, in id order as a merge locks them, and checks that none changed
// under this transaction's id (checkFresh). A target deleted since the
// plan read it also runs the transaction again, to plan without it.
func lockImportTargets(ctx context.Context, tx bun.Tx, accountID uuid.UUID, ids []uuid.UUID) (map[uuid.UUID]*model.Contact, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var rows []model.Contact
	err := tx.NewSelect().Model(&rows).
		Where("account_id = ? AND id IN (?)", accountID, bun.List(ids)).
		OrderExpr("id").For("UPDATE").Scan(ctx)
	if err != nil {
		return nil, err
	}
	if len(rows) != len(ids) {
		return nil, errReordered
	}
	if err := checkFresh(ctx, tx, "contacts", accountID, ids); err != nil {
		return nil, err
	}
	out := make(map[uuid.UUID]*model.Contact, len(rows))
	for i := range rows {
		out[rows[i].ID] = &rows[i]
	}
	return out, nil
}

// mergeImported folds the items merged into each target into it
// (model.MergeContacts, the merge endpoint's rules) and writes the targets
// that change, returning their contact.updated entries.
func (r *ContactRepo) mergeImported(ctx context.Context, conn *pgx.Conn, actor model.Actor, w model.ImportWrites, targets map[uuid.UUID]*model.Contact) ([]Entry, error) {
	var changed []model.Contact
	var changes []map[string]model.Change
	for _, id := range w.MergeOrder {
		before := targets[id]
		after := model.MergeContacts(*before, w.Merges[id], r.region)
		if diff := model.Diff(before, &after); len(diff) > 0 {
			changed, changes = append(changed, after), append(changes, diff)
		}
	}
	if len(changed) == 0 {
		return nil, nil
	}
	rows, err := contactRows(changed)
	if err != nil {
		return nil, err
	}
	var ids []uuid.UUID
	var versions []int64
	var times []time.Time
	stmt := updateContactsSQL.statement(bulkArgs(actor.AccountID, map[string]any{"rows": rows}), &ids, &versions, &times)
	if err := pipeline(ctx, conn, stmt); err != nil {
		return nil, err
	}
	byID := make(map[uuid.UUID]int, len(ids))
	for i, id := range ids {
		byID[id] = i
	}
	entries := make([]Entry, len(changed))
	for i := range changed {
		c := &changed[i]
		j, ok := byID[c.ID]
		if !ok {
			return nil, fmt.Errorf("import: contact %s was not updated", c.ID)
		}
		c.Version, c.UpdatedAt = versions[j], times[j]
		a := model.NewActivity(actor, model.ActionContactUpdated, model.ResourceContact, c.ID, changes[i])
		entries[i] = Entry{a, c}
	}
	return entries, nil
}

// insertContacts inserts cs (with their ids) and returns them as stored.
func insertContacts(ctx context.Context, conn *pgx.Conn, accountID uuid.UUID, cs []model.Contact) ([]model.Contact, error) {
	if len(cs) == 0 {
		return nil, nil
	}
	rows, err := contactRows(cs)
	if err != nil {
		return nil, err
	}
	var ids []uuid.UUID
	var created, updated []time.Time
	stmt := insertContactsSQL.statement(bulkArgs(accountID, map[string]any{"rows": rows}), &ids, &created, &updated)
	if err := pipeline(ctx, conn, stmt); err != nil {
		return nil, err
	}
	at := make(map[uuid.UUID]int, len(ids))
	for i, id := range ids {
		at[id] = i
	}
	for i := range cs {
		j := at[cs[i].ID]
		cs[i].Version, cs[i].CreatedAt, cs[i].UpdatedAt = 1, created[j], updated[j]
	}
	return cs, nil
}

// insertNotes inserts notes (with their ids and contacts) and returns them
// as stored.
func insertNotes(ctx context.Context, conn *pgx.Conn, accountID uuid.UUID, notes []model.Note) ([]model.Note, error) {
	if len(notes) == 0 {
		return nil, nil
	}
	ids, contacts, bodies := make([]uuid.UUID, len(notes)), make([]uuid.UUID, len(notes)), make([]string, len(notes))
	for i, n := range notes {
		ids[i], contacts[i], bodies[i] = n.ID, n.ContactID, n.Body
	}
	var got []uuid.UUID
	var created, updated []time.Time
	args := bulkArgs(accountID, map[string]any{"ids": ids, "contact_ids": contacts, "bodies": bodies})
	if err := pipeline(ctx, conn, insertNotesSQL.statement(args, &got, &created, &updated)); err != nil {
		return nil, err
	}
	at := make(map[uuid.UUID]int, len(got))
	for i, id := range got {
		at[id] = i
	}
	for i := range notes {
		j := at[notes[i].ID]
		notes[i].AccountID, notes[i].Version, notes[i].CreatedAt, notes[i].UpdatedAt = accountID, 1, created[j], updated[j]
	}
	return notes, nil
}

// bulkArgs are the named arguments of a bulk statement: the account's id
// and the values given.
func bulkArgs(accountID uuid.UUID, values map[string]any) arguments {
	return func(name string) (any, bool) {
		if name == "account_id" {
			return pgUUID(accountID), true
		}
		v, ok := values[name]
		return v, ok
	}
}

// contactRows is cs as the JSON array jsonb_populate_recordset reads into
// contacts rows: each object keyed by column, the id and every settable
// column in the text form Postgres reads for its type.
func contactRows(cs []model.Contact) (string, error) {
	rows := make([]map[string]any, len(cs))
	for i := range cs {
		row := make(map[string]any, len(model.ContactFields.Settable)+1)
		row["id"] = cs[i].ID
		for _, f := range model.ContactFields.Settable {
			row[f.Column] = columnValue(f.Get(&cs[i]))
		}
		rows[i] = row
	}
	b, err := json.Marshal(rows)
	return string(b), err
}

// columnValue is v as a JSON value of its column: a value that tells the
// driver its own form (a date, whose year-less form is a BC year) in that
// form, anything else as its JSON.
func columnValue(v any) any {
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && rv.IsNil() {
		return nil
	}
	if dv, ok := v.(driver.Valuer); ok {
		if val, err := dv.Value(); err == nil {
			return val
		}
	}
	return v
}
