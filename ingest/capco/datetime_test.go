package capco

import (
	"testing"
	"time"
)

func TestDateTimeIn(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ in, want string }{
		{"2024-01-15 10:00:00", "2024-01-15T09:00:00Z"}, // winter, UTC+1
		{"2024-07-14 22:30:00", "2024-07-14T20:30:00Z"}, // summer, UTC+2
		{"2023-10-29 02:30:00", "2023-10-29T01:30:00Z"}, // fall-back hour: the later instant
		{"2023-10-29 01:59:59", "2023-10-28T23:59:59Z"}, // just before it, still summer time
	}
	for _, tt := range tests {
		got, err := DateTime(tt.in).In(paris)
		if err != nil || got.UTC().Format(time.RFC3339) != tt.want {
			t.Errorf("DateTime(%q).In(Paris) = %v, %v; want %s", tt.in, got.UTC(), err, tt.want)
		}
	}
	if _, err := DateTime("2024-01-15T10:00:00Z").In(paris); err == nil {
		t.Error("an RFC 3339 value was accepted")
	}
}
