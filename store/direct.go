package store

import (
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"
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

// queryRow runs s, which returns at most one row, as exec does.
func (s stmt) queryRow(g *gorm.DB, args ...any) *sql.Row {
	return g.Statement.ConnPool.QueryRowContext(g.Statement.Context, s.text(g.Name()), args...)
}

// insertStatement is GORM's INSERT of one row of a model, built once: its text, and the
// fields whose values are its arguments, in order.
type insertStatement struct {
	text   string
	fields []*schema.Field
	// stamped are the fields GORM fills with its clock when they are zero (CreatedAt,
	// UpdatedAt), as insertRow does.
	stamped []*schema.Field
}

type insertShape struct {
	dialect   string
	model     reflect.Type
	doNothing bool
}

var insertStatements sync.Map // insertShape → insertStatement, or false when GORM's must build each

// insertRow inserts row (a pointer to a model's struct; never its associations), ON
// CONFLICT DO NOTHING when doNothing, and returns the rows inserted. Its statement is
// GORM's own, built on the first call from a dry run with row and kept when the values of
// its fields are exactly the arguments GORM gave; otherwise GORM builds every insert.
func insertRow(g *gorm.DB, row any, doNothing bool) (int64, error) {
	rv := reflect.ValueOf(row).Elem()
	shape := insertShape{dialect: g.Name(), model: rv.Type(), doNothing: doNothing}
	v, ok := insertStatements.Load(shape)
	if !ok {
		v = buildInsert(g, row, doNothing)
		insertStatements.Store(shape, v)
	}
	st, ok := v.(insertStatement)
	if !ok {
		res := insertQuery(g, doNothing).Create(row)
		return res.RowsAffected, res.Error
	}
	ctx := g.Statement.Context
	for _, f := range st.stamped {
		if _, zero := f.ValueOf(ctx, rv); zero {
			if err := f.Set(ctx, rv, g.NowFunc()); err != nil {
				return 0, err
			}
		}
	}
	args := make([]any, len(st.fields))
	for i, f := range st.fields {
		args[i], _ = f.ValueOf(ctx, rv)
	}
	res, err := g.Statement.ConnPool.ExecContext(ctx, st.text, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// insertQuery is the insert as GORM runs it.
func insertQuery(g *gorm.DB, doNothing bool) *gorm.DB {
	g = g.Omit(clause.Associations)
	if doNothing {
		g = g.Clauses(clause.OnConflict{DoNothing: true})
	}
	return g
}

// buildInsert maps GORM's dry-run INSERT of row to the model's fields: an
// insertStatement, or false when the statement is not one row of values from row's
// fields (a default the database fills and GORM reads back, say).
func buildInsert(g *gorm.DB, row any, doNothing bool) any {
	stmt := insertQuery(g.Session(&gorm.Session{DryRun: true, NewDB: true}), doNothing).Create(row).Statement
	if stmt.Error != nil || stmt.Schema == nil {
		return false
	}
	text := stmt.SQL.String()
	open, end := strings.Index(text, "("), strings.Index(text, ") VALUES (")
	if open < 0 || end < open || strings.Contains(text, "RETURNING") || strings.Contains(text, "),(") {
		return false
	}
	cols := strings.Split(text[open+1:end], ",")
	if len(cols) != len(stmt.Vars) {
		return false
	}
	st := insertStatement{text: text, fields: make([]*schema.Field, len(cols))}
	rv := reflect.ValueOf(row).Elem()
	for i, c := range cols {
		f := stmt.Schema.LookUpField(strings.Trim(c, "`\" "))
		if f == nil || f.HasDefaultValue {
			return false
		}
		if v, _ := f.ValueOf(stmt.Context, rv); !reflect.DeepEqual(v, stmt.Vars[i]) {
			return false
		}
		st.fields[i] = f
		if f.AutoCreateTime > 0 || f.AutoUpdateTime > 0 {
			if f.FieldType != reflect.TypeFor[time.Time]() {
				return false
			}
			st.stamped = append(st.stamped, f)
		}
	}
	return st
}

// readShape names one read's statement: its dialect, what it reads, which of its
// variants (a scope, a filter present or not), and its LIMIT (which SQLite's GORM
// writes as a literal, not an argument).
type readShape struct {
	dialect string
	name    string
	variant int
	limit   int
}

var builtReads sync.Map // readShape → builtStatement

// readBuilt runs a read's statement, GORM's own, built once per shape by build from a
// dry-run session (with stand-ins for args as the statement's first arguments), with
// args in their place, on g's connection, and scans its rows into dest (a pointer to a
// model's struct, or to a slice of them) with GORM's scan. It returns how many rows it
// scanned (for a struct, at most one).
func readBuilt(g *gorm.DB, shape readShape, build func(dry *gorm.DB) *gorm.DB, dest any, args ...any) (int64, error) {
	shape.dialect = g.Name()
	v, ok := builtReads.Load(shape)
	if !ok {
		built := build(g.Session(&gorm.Session{DryRun: true, NewDB: true})).Statement
		if built.Error != nil {
			return 0, built.Error
		}
		if len(built.Vars) < len(args) {
			return 0, fmt.Errorf("store: %s: %d arguments for %d placeholders", shape.name, len(args), len(built.Vars))
		}
		v = builtStatement{text: built.SQL.String(), vars: slices.Clone(built.Vars)}
		builtReads.Store(shape, v)
	}
	st := v.(builtStatement)
	all := slices.Clone(st.vars)
	copy(all, args)
	rows, err := g.Statement.ConnPool.QueryContext(g.Statement.Context, st.text, all...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	if g.Name() == DialectPostgres {
		n, err := scanDirect(g, rows, dest)
		if !errors.Is(err, errUnscannable) {
			if err != nil {
				return 0, err
			}
			if err := rows.Close(); err != nil {
				return 0, err
			}
			return n, rows.Err()
		}
	}
	// A statement of its own (Model makes one): g's may be the one every statement of
	// the transaction starts from.
	tx := g.Session(&gorm.Session{NewDB: true}).Model(dest)
	if err := tx.Statement.Parse(dest); err != nil {
		return 0, err
	}
	tx.Statement.Dest = dest
	tx.Statement.ReflectValue = reflect.ValueOf(dest).Elem()
	gorm.Scan(rows, tx, 0)
	if tx.Error != nil {
		return 0, tx.Error
	}
	if err := rows.Close(); err != nil {
		return 0, err
	}
	return tx.RowsAffected, rows.Err()
}

// readOne is readBuilt of one row; ErrNotFound when there is none.
func readOne(g *gorm.DB, shape readShape, build func(dry *gorm.DB) *gorm.DB, dest any, args ...any) error {
	n, err := readBuilt(g, shape, build, dest, args...)
	if err == nil && n == 0 {
		return ErrNotFound
	}
	return err
}

// scanDirect scans rows into dest (a pointer to a model's struct: the first row; or to a
// slice of them) on PostgreSQL, each column straight into its field (columnsOf maps the
// column list to their index paths once): a sixth of the work of GORM's reflection for
// the hundred-odd columns of a reservation with its venue. SQLite's driver hands times
// over as text, which GORM's scan parses. errUnscannable, before reading a row, if a column's field is of
// a kind nullable does not scan (GORM's scan then reads them).
func scanDirect(g *gorm.DB, rows *sql.Rows, dest any) (int64, error) {
	target := reflect.ValueOf(dest).Elem()
	elem := target
	if target.Kind() == reflect.Slice {
		elem = reflect.New(target.Type().Elem()).Elem()
	}
	if elem.Kind() != reflect.Struct {
		return 0, errUnscannable
	}
	cols, err := rows.Columns()
	if err != nil {
		return 0, err
	}
	paths, err := columnsOf(g, elem.Addr().Interface(), cols)
	if err != nil {
		return 0, err
	}
	cells := make([]nullable, len(paths))
	cellsOf := make([]any, len(paths))
	for i := range cells {
		cellsOf[i] = &cells[i]
	}
	if target.Kind() != reflect.Slice {
		if !rows.Next() {
			return 0, rows.Err()
		}
		for i, path := range paths {
			cells[i].field = target.FieldByIndex(path)
		}
		return 1, rows.Scan(cellsOf...)
	}
	out := reflect.MakeSlice(target.Type(), 0, 4)
	for rows.Next() {
		row := reflect.New(target.Type().Elem()).Elem()
		for i, path := range paths {
			cells[i].field = row.FieldByIndex(path)
		}
		if err := rows.Scan(cellsOf...); err != nil {
			return 0, err
		}
		out = reflect.Append(out, row)
	}
	target.Set(out)
	return int64(out.Len()), rows.Err()
}
