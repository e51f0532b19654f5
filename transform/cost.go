package transform

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// maxCostEUR bounds a parsed cost; larger values are rejected as garbage.
const maxCostEUR = 1e12

// multiplierRE matches a magnitude word right after the number
// ("12k", "1.5 M€", "3 millions", "2 mille", "1 Md€").
var multiplierRE = regexp.MustCompile(`^(?:(k)(?:€|eur(?:os?)?)?|(m)(?:€|eur(?:os?)?)?|(millions?)|(mille)|(milliards?|md)€?)(?:[^\p{L}\d²]|$)`)

// ParseCost reads a cost in euros typed as free text in a proposal form
// ("250 000 €", "1.5 M€", "12k", "1 200,50 €", "environ 8000 euros") and
// returns it rounded to the euro. It refuses (ok = false) anything it
// cannot read without guessing: no number, several numbers ("5 000 à
// 8 000 €"), a negative amount, a percentage or a surface, ambiguous digit
// grouping, or an amount above 10¹² €.
func ParseCost(text string) (eur int64, ok bool) {
	s := strings.ToLower(strings.TrimSpace(text))
	s = strings.NewReplacer("\u00a0", " ", "\u202f", " ", "\u2009", " ", "\t", " ").Replace(s)
	if s == "" || strings.ContainsAny(s, "%²") || strings.Contains(s, "m2") {
		return 0, false
	}
	rs := []rune(s)
	start, end := -1, -1
	for i := 0; i < len(rs); i++ {
		if !unicode.IsDigit(rs[i]) {
			continue
		}
		if start >= 0 {
			return 0, false // a second number
		}
		start = i
		j := i + 1
		for j < len(rs) {
			if unicode.IsDigit(rs[j]) {
				j++
				continue
			}
			if isNumSep(rs[j]) && j+1 < len(rs) && unicode.IsDigit(rs[j+1]) {
				j += 2
				continue
			}
			break
		}
		end = j
		i = j - 1
	}
	if start < 0 {
		return 0, false
	}
	if start > 0 && (rs[start-1] == '-' || rs[start-1] == '−') {
		return 0, false
	}
	mult := 1.0
	suffix := strings.TrimLeft(string(rs[end:]), " ")
	if m := multiplierRE.FindStringSubmatch(suffix); m != nil {
		switch {
		case m[1] != "" || m[4] != "":
			mult = 1e3
		case m[2] != "" || m[3] != "":
			mult = 1e6
		case m[5] != "":
			mult = 1e9
		}
	}
	num, ok := normalizeNumber(string(rs[start:end]), mult != 1)
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, false
	}
	v := math.Round(f * mult)
	if math.IsNaN(v) || v < 0 || v > maxCostEUR {
		return 0, false
	}
	return int64(v), true
}

func isNumSep(r rune) bool {
	return r == ' ' || r == '.' || r == ',' || r == '\'' || r == '’'
}

// normalizeNumber turns a digit run with French or English separators into
// a strconv float ("1 200,50" → "1200.50", "250.000" → "250000"). A single
// separator followed by exactly three digits is a thousands separator,
// unless a magnitude word follows (scaled, "1.500 M€" is 1.5 M).
func normalizeNumber(tok string, scaled bool) (string, bool) {
	groups := strings.FieldsFunc(tok, func(r rune) bool { return r == ' ' || r == '\'' || r == '’' })
	for _, g := range groups[1:] {
		if leadingDigits(g) != 3 {
			return "", false
		}
	}
	t := strings.Join(groups, "")
	dots, commas := strings.Count(t, "."), strings.Count(t, ",")
	switch {
	case dots > 0 && commas > 0:
		dec := ","
		if strings.LastIndex(t, ".") > strings.LastIndex(t, ",") {
			dec = "."
		}
		thou := map[string]string{",": ".", ".": ","}[dec]
		if strings.Count(t, dec) != 1 || strings.LastIndex(t, thou) > strings.LastIndex(t, dec) {
			return "", false
		}
		if !thousandGroups(strings.Split(t[:strings.LastIndex(t, dec)], thou)) {
			return "", false
		}
		t = strings.ReplaceAll(t, thou, "")
		t = strings.Replace(t, dec, ".", 1)
	case dots+commas > 1:
		sep := "."
		if commas > 0 {
			sep = ","
		}
		parts := strings.Split(t, sep)
		if !thousandGroups(parts) {
			return "", false
		}
		t = strings.Join(parts, "")
	case dots+commas == 1:
		sep := "."
		if commas > 0 {
			sep = ","
		}
		i := strings.Index(t, sep)
		if len(t)-i-1 == 3 && !scaled {
			t = t[:i] + t[i+1:]
		} else {
			t = t[:i] + "." + t[i+1:]
		}
	}
	return t, true
}

func leadingDigits(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}

// thousandGroups reports whether every group after the first has exactly
// three digits.
func thousandGroups(parts []string) bool {
	for _, p := range parts[1:] {
		if len(p) != 3 || leadingDigits(p) != 3 {
			return false
		}
	}
	return true
}
