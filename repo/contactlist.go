package repo

import (
	"context"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/remy-crm/remy/model"
)

// List returns one page of the account's contacts that match f, in f's
// order, and the count of all that match.
//
// The page and its total come from one statement, so one snapshot. The
// total is a scalar subquery planned on its own: unfiltered (or filtered by
// one tag alone), it sums the account's contact_counts (tag_counts), kept by
// triggers in the writing transaction, instead of counting 100,000 rows;
// otherwise it counts with whichever index suits the filter, while the page
// walks the sort key's index and stops after limit rows. (count(*) OVER ()
// would make every page read, and buffer, every match.)
//
// The statement goes through pgx, so rows arrive in binary and are scanned
// straight into the contacts. A filtered list is sent as an unnamed
// statement whose description is cached (QueryExecModeCacheDescribe):
// Postgres plans every execution for its own arguments, so a generic plan,
// which cannot tell a 2-letter term from a rare one, never applies. The
// unfiltered list, whose plan is the same whatever the account, page or
// order, is prepared once per connection instead and only bound and run.
func (r *ContactRepo) List(ctx context.Context, accountID uuid.UUID, f model.ContactFilter) (model.Page[model.Contact], error) {
	page := model.Page[model.Contact]{Items: make([]model.Contact, 0, f.Limit)}
	key := totalKey(accountID, f)
	known := r.totals.get(key)
	stmt, args, counted := contactListStatement(accountID, f, known)
	mode := pgx.QueryExecModeCacheDescribe
	if !f.Filtered() {
		mode = pgx.QueryExecModeCacheStatement
	}
	writes := int64(-1)
	more := []any{&page.Total}
	if counted {
		more = append(more, &writes)
	}
	err := withPgx(ctx, r.db, func(conn *pgx.Conn) error {
		rows, err := conn.Query(ctx, stmt, append([]any{mode}, args...)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c model.Contact
			if err := rows.Scan(contactTargets(&c, more...)...); err != nil {
				return err
			}
			page.Items = append(page.Items, c)
		}
		if err := rows.Err(); err != nil || len(page.Items) > 0 || f.Offset == 0 {
			return err
		}
		// Past the end: no row carried the total.
		var q listSQL
		total, _ := q.total(accountID, f, known)
		return conn.QueryRow(ctx, "SELECT "+total, append([]any{mode}, q.args...)...).Scan(more...)
	})
	if err != nil {
		return model.Page[model.Contact]{}, interpretError(err)
	}
	if counted && writes >= 0 && writes != known.writes {
		r.totals.put(key, countedTotal{writes: writes, total: int64(page.Total)})
	}
	return page, nil
}

// ContactListStatement is the statement List sends for f when it
// remembers no total for it, with its arguments, for tools that explain it
// (the search benchmark).
func ContactListStatement(accountID uuid.UUID, f model.ContactFilter) (string, []any) {
	stmt, args, _ := contactListStatement(accountID, f, countedTotal{writes: -1})
	return stmt, args
}

// contactListStatement is the statement of f's page and total, known being
// the total remembered for f (writes -1: none); counted says whether its
// rows carry the account's write count after the total.
func contactListStatement(accountID uuid.UUID, f model.ContactFilter, known countedTotal) (string, []any, bool) {
	var q listSQL
	total, counted := q.total(accountID, f, known)
	where := strings.Join(q.filter(accountID, f, false), " AND ")
	cols := "c." + strings.ReplaceAll(contactSelectList, ", ", ", c.")
	limit, offset := q.arg(int64(f.Limit)), q.arg(int64(f.Offset))
	col, desc, nullable := sortColumn(f.Sort)
	if !desc || !nullable {
		return "SELECT " + cols + ", " + total + " FROM contacts AS c WHERE " + where +
			" ORDER BY " + contactOrder(f.Sort) + " LIMIT " + limit + " OFFSET " + offset, q.args, counted
	}
	// Descending with nulls last, from the one ascending index: its
	// non-null range backwards, then its null range (ordered by id)
	// backwards. Each branch stops after the rows the page can need. Both
	// are ordered as the index is read backwards (nulls first), which in
	// the null range is by id alone, so the planner walks that index for
	// them too.
	upTo := q.arg(int64(f.Limit + f.Offset))
	branch := func(cond string) string {
		return "(SELECT " + cols + " FROM contacts AS c WHERE " + where + " AND c." + col + cond +
			" ORDER BY c." + col + " DESC NULLS FIRST, c.id DESC LIMIT " + upTo + ")"
	}
	return "SELECT " + cols + ", " + total + " FROM (" +
		branch(" IS NOT NULL") + " UNION ALL " + branch(" IS NULL") +
		") AS c ORDER BY " + contactOrder(f.Sort) + " LIMIT " + limit + " OFFSET " + offset, q.args, counted
}

// listSQL collects a statement's arguments as it is written.
type listSQL struct{ args []any }

// arg adds v and returns its placeholder.
func (q *listSQL) arg(v any) string {
	q.args = append(q.args, v)
	return "$" + strconv.Itoa(len(q.args))
}

// total is the select-list item of the total of f's matches ("… AS
// total"). Unfiltered, or filtered by one tag alone, it sums a counter;
// otherwise it is counted, and counted is true: the item is then taken from
// known (see totals) when the account's write count is still known.writes,
// and is followed by that write count ("… AS writes"). A scalar subquery
// runs only when its value is first needed, so a CASE that takes the
// remembered total never counts.
func (q *listSQL) total(accountID uuid.UUID, f model.ContactFilter, known countedTotal) (item string, counted bool) {
	account := q.arg(pgUUID(accountID))
	switch {
	case !f.Filtered():
		return "(SELECT coalesce(sum(n), 0)::bigint FROM contact_counts WHERE account_id = " + account + ") AS total", false
	case f.OnlyTag() != "":
		// One tag and nothing else: the count GET /api/v1/tags shows, kept
		// by the same kind of trigger.
		return "(SELECT coalesce(sum(n), 0)::bigint FROM tag_counts WHERE account_id = " + account +
			" AND tag = " + q.arg(f.OnlyTag()) + ") AS total", false
	}
	writes := "(SELECT coalesce(sum(writes), 0)::bigint FROM contact_counts WHERE account_id = " + account + ")"
	count := "(SELECT count(*) FROM contacts AS c WHERE " + strings.Join(q.filter(accountID, f, true), " AND ") + ")"
	return "CASE WHEN " + writes + " = " + q.arg(known.writes) + " THEN " + q.arg(known.total) + "::bigint ELSE " + count +
		" END AS total, " + writes + " AS writes", true
}

// likeEscaper makes every character of a search term literal in a LIKE
// pattern (backslash is LIKE's default escape character).
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// filter is the conditions of f on "contacts AS c". Each term is
// normalised by the same function as the _search column it is matched
// against; with the term's value known at planning, the planner folds that
// call and looks its trigrams up in contacts_find_idx. A 2-character
// term has no trigram: its bigram is looked up in contacts_find_idx. For
// an ASCII one (normalised without changing its length) the bigram is the
// whole condition, and a count of its matches checks none of them with
// LIKE; otherwise the bigram only narrows and LIKE decides.
func (q *listSQL) filter(accountID uuid.UUID, f model.ContactFilter, count bool) []string {
	conds := []string{"c.account_id = " + q.arg(pgUUID(accountID))}
	for _, t := range f.Terms {
		exact := utf8.RuneCountInString(t) == 2 && count && isASCII(t)
		if !exact {
			conds = append(conds, "c._search LIKE '%' || lower(remy_unaccent("+q.arg(likeEscaper.Replace(t))+")) || '%'")
		}
		if utf8.RuneCountInString(t) == 2 {
			conds = append(conds, `remy_bigrams(c._search COLLATE "C") @> remy_bigrams(lower(remy_unaccent(`+q.arg(t)+`)))`)
		}
	}
	if len(f.Tags) > 0 {
		conds = append(conds, "c.tags @> "+q.arg(f.Tags)+"::text[]")
	}
	if f.IntroducedByID != uuid.Nil {
		conds = append(conds, "c.introduced_by_id = "+q.arg(pgUUID(f.IntroducedByID)))
	}
	if !f.UpdatedSince.IsZero() {
		conds = append(conds, "c.updated_at >= "+q.arg(f.UpdatedSince))
	}
	return conds
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// sortColumn is the column of s's key, whether s is descending, and whether
// the column may be null. The only text of an ORDER BY that comes from a
// request comes from the field table, for a key ParseContactSort admitted.
func sortColumn(s model.ContactSort) (column string, desc, nullable bool) {
	f, ok := model.ContactFields.ByJSON(string(s.Key))
	if !ok || !slices.Contains(model.ContactSortKeys, s.Key) {
		f, _ = model.ContactFields.ByJSON(string(model.DefaultContactSort.Key))
		s = model.DefaultContactSort
	}
	return f.Column, s.Desc, f.Type.Kind() == reflect.Pointer
}

// contactOrder is the ORDER BY of a sort, written exactly as the sort-key
// indexes are, so the planner can walk one and stop after a page: nulls
// last in both directions (ASC puts them last by default; the timestamps
// are NOT NULL), and the id, in the same direction, breaks ties so pages
// never overlap or skip.
func contactOrder(s model.ContactSort) string {
	col, desc, nullable := sortColumn(s)
	switch {
	case !desc:
		return "c." + col + " ASC, c.id ASC"
	case !nullable:
		return "c." + col + " DESC, c.id DESC"
	default:
		return "c." + col + " DESC NULLS LAST, c.id DESC"
	}
}
