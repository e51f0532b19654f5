package dashboards

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestFrenchFormats(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	nb := func(s string) string { return strings.ReplaceAll(s, " ", nnbsp) }
	tests := []struct {
		name, got, want string
	}{
		{"int small", frInt(7), "7"},
		{"int thousands", frInt(12345), nb("12 345")},
		{"int millions", frInt(1234567), nb("1 234 567")},
		{"int negative", frInt(-1000), nb("−1 000")},
		{"dec", frDec(4.25, 1), "4,2"},
		{"dec round", frDec(3.06, 1), "3,1"},
		{"dec grouping", frDec(12345.678, 2), nb("12 345,68")},
		{"dec negative", frDec(-0.5, 1), "−0,5"},
		{"dec negative zero", frDec(-0.01, 1), "0,0"},
		{"dec nan", frDec(math.NaN(), 1), "–"},
		{"pct", frPct(0.034, 1), nb("3,4 %")},
		{"pct whole", frPct(0.5, 0), nb("50 %")},
		{"date", frDate(time.Date(2026, 11, 29, 17, 15, 2, 0, time.UTC), paris), "29 nov. 2026"},
		{"date crosses midnight in Paris", frDate(time.Date(2026, 12, 31, 23, 30, 0, 0, time.UTC), paris), "1 janv. 2027"},
		{"date zero", frDate(time.Time{}, paris), "–"},
		{"datetime", frDateTime(time.Date(2026, 7, 1, 6, 5, 0, 0, time.UTC), paris), "1 juil. 2026 à 8 h 05"},
		{"bytes", frBytes(1034102), nb("1,0 Mo")},
		{"bytes small", frBytes(512), nb("512 octets")},
		{"signed plus", frSigned(1.5, func(f float64) string { return frDec(f, 1) }), "+1,5"},
		{"signed minus", frSigned(-2, func(f float64) string { return frDec(f, 0) }), "−2"},
		{"signed zero", frSigned(0, func(f float64) string { return frDec(f, 0) }), "="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}
