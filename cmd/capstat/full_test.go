package main

import (
	"strings"
	"testing"
)

// run and ingest take --full (a forced full sweep), off by default, and
// say so in their help.
func TestFullFlag(t *testing.T) {
	root := newRoot()
	for _, name := range []string{"run", "ingest"} {
		cmd, _, err := root.Find([]string{name})
		if err != nil {
			t.Fatal(err)
		}
		f := cmd.Flags().Lookup("full")
		if f == nil || f.DefValue != "false" || !strings.Contains(f.Usage, "full sweep") {
			t.Errorf("%s --full: %+v", name, f)
		}
		if !strings.Contains(cmd.Long, "--full") || !strings.Contains(cmd.Use, "--full") {
			t.Errorf("%s: help does not mention --full: %q", name, cmd.Long)
		}
	}
}
