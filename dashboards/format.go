package dashboards

import (
	"math"
	"strconv"
	"time"

	"github.com/capstat/capstat/internal/frfmt"
)

// nnbsp is the narrow no-break space French typography uses between digit
// groups and before "%" or "€".
const nnbsp = frfmt.NNBSP

var frMonths = [...]string{"janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."}

// frInt formats n with French digit grouping: 12 345 (frfmt.Int).
func frInt(n int64) string { return frfmt.Int(n) }

// frDec formats f with the given number of decimals (frfmt.Dec): 12 345,6.
func frDec(f float64, decimals int) string { return frfmt.Dec(f, decimals) }

// frPct formats a ratio in [0, 1] as a French percentage: 0.034 → "3,4 %".
func frPct(ratio float64, decimals int) string {
	return frDec(ratio*100, decimals) + nnbsp + "%"
}

// frDate formats t as a short French date in loc: "29 nov. 2026".
func frDate(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "–"
	}
	t = t.In(loc)
	return strconv.Itoa(t.Day()) + " " + frMonths[t.Month()-1] + " " + strconv.Itoa(t.Year())
}

// frDateTime formats t as "29 nov. 2026 à 18 h 15" in loc.
func frDateTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "–"
	}
	tl := t.In(loc)
	return frDate(t, loc) + " à " + strconv.Itoa(tl.Hour()) + " h " + twoDigits(tl.Minute())
}

func twoDigits(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

// frBytes formats a file size: 1 034 102 octets → "1,0 Mo".
func frBytes(n int64) string {
	switch {
	case n >= 1_000_000_000:
		return frDec(float64(n)/1e9, 1) + nnbsp + "Go"
	case n >= 1_000_000:
		return frDec(float64(n)/1e6, 1) + nnbsp + "Mo"
	case n >= 1_000:
		return frDec(float64(n)/1e3, 1) + nnbsp + "ko"
	}
	return frInt(n) + nnbsp + "octets"
}

// frSigned prefixes a formatted difference with + or − (and "=" for zero).
func frSigned(d float64, format func(float64) string) string {
	switch {
	case d > 0:
		return "+" + format(d)
	case d < 0:
		return "−" + format(-d)
	}
	return "="
}

// frCount writes a count with its noun, singular below 2 as in French:
// "1 proposition", "0 proposition", "12 propositions".
func frCount(n int64, singular, plural string) string {
	if n < 2 && n > -2 {
		return frInt(n) + " " + singular
	}
	return frInt(n) + " " + plural
}

// frRate formats a per-inhabitant rate: one decimal, two below 1.
func frRate(v float64) string {
	if v < 1 && v > -1 {
		return frDec(v, 2)
	}
	return frDec(v, 1)
}

// frPctAuto formats a small ratio with enough decimals to stay readable:
// 12,3 %, 0,23 %, 0,004 %.
func frPctAuto(ratio float64) string {
	p := math.Abs(ratio * 100)
	switch {
	case p == 0 || p >= 10:
		return frPct(ratio, 1)
	case p >= 0.1:
		return frPct(ratio, 2)
	}
	return frPct(ratio, 3)
}

// roundSig rounds v to n significant digits (chart data stays small and
// free of float noise without flattening tiny rates to zero).
func roundSig(v float64, n int) float64 {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return v
	}
	d := n - 1 - int(math.Floor(math.Log10(math.Abs(v))))
	p := math.Pow(10, float64(d))
	return math.Round(v*p) / p
}
