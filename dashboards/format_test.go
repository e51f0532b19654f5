package dashboards

import (
	"math"
	"slices"
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
		{"pct auto large", frPctAuto(0.1234), nb("12,3 %")},
		{"pct auto small", frPctAuto(0.0023), nb("0,23 %")},
		{"pct auto tiny", frPctAuto(0.00004), nb("0,004 %")},
		{"pct auto zero", frPctAuto(0), nb("0,0 %")},
		{"count singular", frCount(1, "vote", "votes"), "1 vote"},
		{"count zero", frCount(0, "vote", "votes"), "0 vote"},
		{"count plural", frCount(2000, "vote", "votes"), nb("2 000") + " votes"},
		{"rate small", frRate(0.172), "0,17"},
		{"rate", frRate(6.92), "6,9"},
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

func TestRoundSig(t *testing.T) {
	for _, tt := range []struct{ in, want float64 }{
		{0.000041234, 0.00004123}, {6.91827, 6.918}, {1234567, 1235000}, {0, 0}, {-0.012345, -0.01235},
	} {
		if got := roundSig(tt.in, 4); math.Abs(got-tt.want) > 1e-12*math.Max(1, math.Abs(tt.want)) {
			t.Errorf("roundSig(%v, 4) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestEveryDay(t *testing.T) {
	day := func(s string) time.Time {
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	row := func(s string, votes, cum int64) dayRow {
		return dayRow{Day: day(s), Votes: votes, CumVotes: cum, CumProposals: cum / 2}
	}
	tests := []struct {
		name string
		in   []dayRow
		want []dayRow
	}{
		{"empty", nil, nil},
		{"one day", []dayRow{row("2026-03-01", 4, 4)}, []dayRow{row("2026-03-01", 4, 4)}},
		{"consecutive", []dayRow{row("2026-03-01", 4, 4), row("2026-03-02", 2, 6)},
			[]dayRow{row("2026-03-01", 4, 4), row("2026-03-02", 2, 6)}},
		{"a gap across a month and the DST change", []dayRow{row("2026-03-28", 4, 4), row("2026-04-01", 2, 6)},
			[]dayRow{row("2026-03-28", 4, 4), row("2026-03-29", 0, 4), row("2026-03-30", 0, 4), row("2026-03-31", 0, 4), row("2026-04-01", 2, 6)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := everyDay(tt.in); !slices.Equal(got, tt.want) {
				t.Errorf("everyDay = %+v\nwant %+v", got, tt.want)
			}
		})
	}
}
