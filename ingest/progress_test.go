package ingest

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestProgressTerminal(t *testing.T) {
	var out bytes.Buffer
	p := newProgress(&out, slog.New(slog.DiscardHandler))
	p.terminal = true
	p.started = time.Now().Add(-10 * time.Second)
	p.addTotal("gironde", "users", 100)
	p.add("gironde", "users", 50)
	total := int64(40)
	p.resumed("gironde", "proposals", 10, &total)
	p.show()
	s := out.String()
	for _, want := range []string{"gironde", "users", "50 / 100", "50.0%", "5/s", "ETA 10s", "proposals", "10 / 40"} {
		if !strings.Contains(s, want) {
			t.Errorf("display lacks %q:\n%s", want, s)
		}
	}
	out.Reset()
	p.show()
	if !strings.HasPrefix(out.String(), "\x1b[2A") {
		t.Errorf("second frame does not move the cursor up: %q", out.String())
	}
}

func TestProgressLogsWhenNotATerminal(t *testing.T) {
	var logs bytes.Buffer
	p := newProgress(&bytes.Buffer{}, slog.New(slog.NewTextHandler(&logs, nil)))
	if p.terminal {
		t.Fatal("a buffer is not a terminal")
	}
	p.addTotal("landes", "events", 3)
	p.add("landes", "events", 3)
	p.show()
	if !strings.Contains(logs.String(), "msg=progress source=landes entity=events fetched=3 total=3") {
		t.Errorf("log lines: %s", logs.String())
	}
}

func TestProgressHidesFinishedRowsWhenTall(t *testing.T) {
	var out bytes.Buffer
	p := newProgress(&out, slog.New(slog.DiscardHandler))
	p.terminal = true
	for i := range 30 {
		src := string(rune('a' + i))
		p.addTotal(src, "votes", 10)
		if i < 25 {
			p.add(src, "votes", 10)
		}
	}
	p.show()
	if got := strings.Count(out.String(), "votes"); got != 5 {
		t.Errorf("%d rows shown, want the 5 unfinished:\n%s", got, out.String())
	}
	if !strings.Contains(out.String(), "25 finished") {
		t.Errorf("no hidden-rows line:\n%s", out.String())
	}
}
