package repo

import (
	"fmt"
	"strconv"
	"strings"
)

// namedSQL is a statement whose arguments are named (@account_id) rather
// than numbered, compiled once into the numbered form pgx sends: a piece of
// SQL shared by several statements (the Activity Log INSERT, the endpoint
// lookup) then asks for its arguments by name, and no file has to agree
// with another on what $7 is.
type namedSQL struct {
	sql   string   // with $1, $2, … in place of the names
	names []string // the name of each $n
}

// named compiles s. A name is @ followed by a letter or _ and then letters,
// digits or _, outside quotes; @> and the like are operators.
func named(s string) namedSQL {
	var b strings.Builder
	var n namedSQL
	index := map[string]int{}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'' || c == '"':
			end := strings.IndexByte(s[i+1:], c)
			if end < 0 {
				panic(fmt.Sprintf("named: unterminated quote in %q", s))
			}
			b.WriteString(s[i : i+end+2])
			i += end + 1
			continue
		case c == '@' && i+1 < len(s) && isNameStart(s[i+1]):
			j := i + 1
			for j < len(s) && (isNameStart(s[j]) || s[j] >= '0' && s[j] <= '9') {
				j++
			}
			name := s[i+1 : j]
			k, ok := index[name]
			if !ok {
				n.names = append(n.names, name)
				k = len(n.names)
				index[name] = k
			}
			b.WriteString("$" + strconv.Itoa(k))
			i = j - 1
			continue
		}
		b.WriteByte(c)
	}
	n.sql = b.String()
	return n
}

func isNameStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// arguments gives the value of the argument called name, if it knows it.
type arguments func(name string) (any, bool)

// args are the statement's arguments in $n order, each asked of arg. A
// name the statement uses and arg does not know is a programming error,
// reported at once rather than sent as NULL.
func (n namedSQL) args(arg arguments) []any {
	out := make([]any, len(n.names))
	for i, name := range n.names {
		v, ok := arg(name)
		if !ok {
			panic(fmt.Sprintf("named: no argument @%s for %.60q", name, n.sql))
		}
		out[i] = v
	}
	return out
}

// statement is the statement of a pipeline that runs n with arg's values.
func (n namedSQL) statement(arg arguments, dest ...any) statement {
	return statement{sql: n.sql, args: n.args(arg), dest: dest}
}
