package store

import (
	"strconv"
	"strings"

	"gorm.io/gorm"
)

// stmt is a hand-written statement of fixed shape, in both dialects' placeholders. The
// booking flow's hottest writes run as stmts: GORM spent more building them (statement,
// reflection over the model, callbacks, a map of columns) than the database spent
// running them.
type stmt struct{ sqlite, postgres string }

// newStmt makes a stmt of q, written with ? placeholders (and no ? anywhere else).
func newStmt(q string) stmt {
	var b strings.Builder
	n := 0
	for _, c := range q {
		if c != '?' {
			b.WriteRune(c)
			continue
		}
		n++
		b.WriteString("$" + strconv.Itoa(n))
	}
	return stmt{sqlite: q, postgres: b.String()}
}

// text is the statement in the dialect's placeholders.
func (s stmt) text(dialect string) string {
	if dialect == DialectPostgres {
		return s.postgres
	}
	return s.sqlite
}

// exec runs s with args on g's connection (the transaction's, when g is a Tx's), in g's
// context, and returns the rows it changed.
func (s stmt) exec(g *gorm.DB, args ...any) (int64, error) {
	res, err := g.Statement.ConnPool.ExecContext(g.Statement.Context, s.text(g.Name()), args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
