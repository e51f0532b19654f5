// Package frfmt formats numbers the French way, as the dashboards show them
// and the command line prints them: digit groups separated by a narrow
// no-break space, a decimal comma, a true minus sign (12 345,6 ; −3).
package frfmt

import (
	"math"
	"strconv"
	"strings"
)

// NNBSP is the narrow no-break space between digit groups and before
// "%" or "€".
const NNBSP = "\u202f"

// Int formats n with digit grouping: 12 345.
func Int(n int64) string {
	neg := n < 0
	u := uint64(n)
	if neg {
		u = uint64(-n)
	}
	s := strconv.FormatUint(u, 10)
	var b strings.Builder
	if neg {
		b.WriteString("−")
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString(NNBSP)
		}
		b.WriteRune(c)
	}
	return b.String()
}

// Dec formats f with the given number of decimals: 12 345,6. NaN and
// infinities give "–".
func Dec(f float64, decimals int) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "–"
	}
	s := strconv.FormatFloat(math.Abs(f), 'f', decimals, 64)
	intPart, frac, _ := strings.Cut(s, ".")
	n, _ := strconv.ParseInt(intPart, 10, 64)
	out := Int(n)
	if f < 0 && s != strconv.FormatFloat(0, 'f', decimals, 64) {
		out = "−" + out
	}
	if frac != "" {
		out += "," + frac
	}
	return out
}

// Number formats a measured value for reading: at most two decimals from
// 1 on (12 345,68), three significant digits below 1 (0,272 ; 0,00254),
// trailing zeros dropped. It is the command line's and the charts'
// number format.
func Number(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "–"
	}
	decimals := 2
	if a := math.Abs(f); a < 1 && a > 0 {
		decimals = 3 - 1 - int(math.Floor(math.Log10(a)))
	}
	s := Dec(f, decimals)
	if strings.Contains(s, ",") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ",")
	}
	if s == "−0" {
		s = "0"
	}
	return s
}
