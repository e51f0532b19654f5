package duckdbx

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestQuoteIdent: literals and identifiers survive hostile text.
func TestQuoteIdent(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range []string{"plain", "l'Isle", `a"b`, "'; DROP TABLE x; --", "é ü\n\t", ""} {
		var got string
		if err := db.QueryRowContext(ctx, "SELECT "+Quote(s)).Scan(&got); err != nil || got != s {
			t.Errorf("Quote(%q) read back %q, %v", s, got, err)
		}
		if s == "" {
			continue
		}
		if err := db.QueryRowContext(ctx, "SELECT "+Quote(s)+" AS "+Ident(s)).Scan(&got); err != nil {
			t.Errorf("Ident(%q): %v", s, err)
		}
	}
}

// TestExecNamesTheStatement and Set restores what it changed.
func TestExecAndSet(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "x.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = Exec(ctx, db, "CREATE TABLE t (i INTEGER)", "INSERT INTO t VALUES (1)", "INSERT INTO nope VALUES (1)", "INSERT INTO t VALUES (2)")
	if err == nil || !strings.Contains(err.Error(), "INSERT INTO nope") {
		t.Fatalf("Exec = %v, want the failing statement named", err)
	}
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil || n != 1 {
		t.Errorf("rows after a failed Exec = %d, %v; want 1 (stops at the first error)", n, err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var before string
	conn.QueryRowContext(ctx, "SELECT current_setting('TimeZone')").Scan(&before)
	restore, err := Set(ctx, conn, [][2]string{{"TimeZone", "Pacific/Auckland"}})
	if err != nil {
		t.Fatal(err)
	}
	var during, after string
	conn.QueryRowContext(ctx, "SELECT current_setting('TimeZone')").Scan(&during)
	restore()
	conn.QueryRowContext(ctx, "SELECT current_setting('TimeZone')").Scan(&after)
	if during != "Pacific/Auckland" || after != before {
		t.Errorf("TimeZone before %q, during %q, after restore %q", before, during, after)
	}
	if _, err := Set(ctx, conn, [][2]string{{"no_such_setting", "1"}}); err == nil {
		t.Error("Set of an unknown setting succeeded")
	}
}

// TestIsLocked: a database another process holds is recognised as locked;
// other errors are not. The other process is this test binary.
func TestIsLocked(t *testing.T) {
	if path := os.Getenv("DUCKDBX_HOLD"); path != "" {
		db, err := Open(context.Background(), path)
		if err != nil {
			os.Exit(3)
		}
		db.Exec("CREATE TABLE IF NOT EXISTS t (i INTEGER)")
		os.Stdout.WriteString("held\n")
		buf := make([]byte, 1)
		os.Stdin.Read(buf) // hold until the parent closes stdin
		db.Close()
		os.Exit(0)
	}
	path := filepath.Join(t.TempDir(), "held.duckdb")
	cmd := exec.Command(os.Args[0], "-test.run=^TestIsLocked$")
	cmd.Env = append(os.Environ(), "DUCKDBX_HOLD="+path)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); cmd.Wait() }()
	buf := make([]byte, 5)
	if _, err := stdout.Read(buf); err != nil || string(buf) != "held\n" {
		t.Fatalf("holder did not start: %q %v", buf, err)
	}
	_, err := OpenReadOnly(context.Background(), path)
	if !IsLocked(err) {
		t.Errorf("OpenReadOnly of a held database = %v, want a lock error", err)
	}
	if IsLocked(errors.New("no such file")) || IsLocked(nil) {
		t.Error("IsLocked of other errors")
	}
}
