package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/capstat/capstat/queries"
)

// TestRefuseBinaryToTerminal: Parquet is refused on a terminal only; a
// pipe, a file or a buffer gets it, and text formats go anywhere.
func TestRefuseBinaryToTerminal(t *testing.T) {
	tty, err := openPTY(t)
	if err == nil {
		defer tty.Close()
		if err := refuseBinaryToTerminal(queries.FormatParquet, tty); err == nil || !strings.Contains(err.Error(), "redirect") {
			t.Errorf("parquet to a terminal: %v, want a refusal", err)
		}
		if err := refuseBinaryToTerminal(queries.FormatTable, tty); err != nil {
			t.Errorf("table to a terminal: %v", err)
		}
	} else {
		t.Logf("no terminal here (%v): only the non-terminal cases run", err)
	}
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, w := range []any{f, &bytes.Buffer{}} {
		if err := refuseBinaryToTerminal(queries.FormatParquet, w.(interface{ Write([]byte) (int, error) })); err != nil {
			t.Errorf("parquet to %T: %v", w, err)
		}
	}
}

// openPTY opens the terminal side of a new pseudo-terminal (Linux).
func openPTY(t *testing.T) (*os.File, error) {
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { ptmx.Close() })
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		return nil, err
	}
	n, err := unix.IoctlGetInt(int(ptmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		return nil, err
	}
	return os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_WRONLY|unix.O_NOCTTY, 0)
}
