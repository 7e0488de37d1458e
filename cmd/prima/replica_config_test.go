package main

import (
	"strings"
	"testing"
)

// TestReadReplicaConfigRefusedAtStartUp: PRIMA_DATABASE_READ_URL with SQLite, a read URL
// that is not PostgreSQL's and a bad wait are refused before anything starts, each with a
// message that names the variable.
func TestReadReplicaConfigRefusedAtStartUp(t *testing.T) {
	for _, c := range []struct {
		name, db, read, wait, want string
	}{
		{"sqlite", "sqlite:./data/prima.db", "postgres://postgres@127.0.0.1:15433/prima", "", "PRIMA_DATABASE_READ_URL needs PostgreSQL"},
		{"default sqlite", "", "postgres://postgres@127.0.0.1:15433/prima", "", "PRIMA_DATABASE_READ_URL needs PostgreSQL"},
		{"not postgres", "postgres://postgres@127.0.0.1:5432/prima", "mysql://127.0.0.1/prima", "", "PRIMA_DATABASE_READ_URL must be a postgres:// URL"},
		{"bad wait", "postgres://postgres@127.0.0.1:5432/prima", "postgres://postgres@127.0.0.1:15433/prima", "soon", "PRIMA_DATABASE_READ_WAIT"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("PRIMA_DATABASE_URL", c.db)
			t.Setenv("PRIMA_DATABASE_READ_URL", c.read)
			t.Setenv("PRIMA_DATABASE_READ_WAIT", c.wait)
			_, err := loadConfig()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("loadConfig: %v, want an error with %q", err, c.want)
			}
		})
	}
	t.Setenv("PRIMA_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/prima")
	t.Setenv("PRIMA_DATABASE_READ_URL", " postgres://postgres@127.0.0.1:15433/prima ")
	t.Setenv("PRIMA_DATABASE_READ_WAIT", "")
	c, err := loadConfig()
	if err != nil || c.DatabaseReadURL != "postgres://postgres@127.0.0.1:15433/prima" || c.ReadWait <= 0 || c.ReadMaxLag <= 0 {
		t.Errorf("loadConfig = %q, %v, %v, %v; want the read URL and the default wait and lag", c.DatabaseReadURL, c.ReadWait, c.ReadMaxLag, err)
	}
}

// TestDatabaseMaxConnsConfig: PRIMA_DATABASE_MAX_CONNS sets the pool's size; anything
// but a number of connections from 1 to 10000 is refused at start-up, naming the
// variable, and unset leaves the store's default.
func TestDatabaseMaxConnsConfig(t *testing.T) {
	t.Setenv("PRIMA_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/prima")
	t.Setenv("PRIMA_DATABASE_READ_URL", "")
	for _, bad := range []string{"0", "-3", "many", "1.5", "10001"} {
		t.Setenv("PRIMA_DATABASE_MAX_CONNS", bad)
		if _, err := loadConfig(); err == nil || !strings.Contains(err.Error(), "PRIMA_DATABASE_MAX_CONNS") {
			t.Errorf("PRIMA_DATABASE_MAX_CONNS=%q: %v, want an error naming the variable", bad, err)
		}
	}
	for v, want := range map[string]int{"": 0, " 12 ": 12, "1": 1} {
		t.Setenv("PRIMA_DATABASE_MAX_CONNS", v)
		if c, err := loadConfig(); err != nil || c.DatabaseMaxConns != want {
			t.Errorf("PRIMA_DATABASE_MAX_CONNS=%q: %d, %v; want %d", v, c.DatabaseMaxConns, err, want)
		}
	}
}
