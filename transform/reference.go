package transform

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

//go:embed reference/collectivities.csv
var collectivitiesCSV []byte

// Collectivity is one row of the INSEE reference table
// (reference/collectivities.csv).
type Collectivity struct {
	Code           string // "40", "2A", "976", or "R76" for a région
	Name           string
	Kind           string // departement or region
	RegionCode     string // "R75" for a département, "" for a région
	Population     int64  // population municipale
	PopulationYear int
}

// ReferenceCollectivities parses the embedded INSEE reference table.
func ReferenceCollectivities() ([]Collectivity, error) {
	recs, err := csv.NewReader(bytes.NewReader(collectivitiesCSV)).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("reference collectivities: %w", err)
	}
	if len(recs) < 2 {
		return nil, fmt.Errorf("reference collectivities: empty table")
	}
	out := make([]Collectivity, 0, len(recs)-1)
	for i, r := range recs[1:] {
		if len(r) != 6 {
			return nil, fmt.Errorf("reference collectivities line %d: %d fields", i+2, len(r))
		}
		pop, err := strconv.ParseInt(r[4], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("reference collectivities line %d population: %w", i+2, err)
		}
		year, err := strconv.Atoi(r[5])
		if err != nil {
			return nil, fmt.Errorf("reference collectivities line %d year: %w", i+2, err)
		}
		out = append(out, Collectivity{Code: r[0], Name: r[1], Kind: r[2], RegionCode: r[3], Population: pop, PopulationYear: year})
	}
	return out, nil
}

// Slug returns the source-name slug of a collectivity name: lower case,
// accents removed, every run of other characters turned into one '-'
// ("Deux-Sèvres" → "deux-sevres", "Côtes-d'Armor" → "cotes-d-armor").
func Slug(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if f, ok := foldAccent(r); ok {
			b.WriteString(f)
			dash = false
			continue
		}
		switch {
		case r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			b.WriteRune(r)
			dash = false
		default:
			if !dash && b.Len() > 0 {
				b.WriteByte('-')
				dash = true
			}
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

// slugAliases returns every slug a source may use for a collectivity: the
// plain slug, the slug without apostrophe breaks ("cotes-darmor") and the
// slug without a leading article ("reunion").
func slugAliases(name string) []string {
	s := Slug(name)
	set := []string{s}
	add := func(a string) {
		for _, x := range set {
			if x == a {
				return
			}
		}
		set = append(set, a)
	}
	add(Slug(strings.NewReplacer("'", "", "’", "").Replace(name)))
	for _, art := range []string{"la-", "le-", "les-", "l-"} {
		if strings.HasPrefix(s, art) {
			add(strings.TrimPrefix(s, art))
		}
	}
	return set
}

// CollectivitySlugs maps every slug alias to a collectivity code. When a
// département and a région share a name (overseas: Guadeloupe, Mayotte…)
// the département wins.
func CollectivitySlugs(cs []Collectivity) map[string]string {
	m := map[string]string{}
	for _, kind := range []string{"departement", "region"} {
		for _, c := range cs {
			if c.Kind != kind {
				continue
			}
			for _, s := range slugAliases(c.Name) {
				if _, taken := m[s]; !taken {
					m[s] = c.Code
				}
			}
		}
	}
	return m
}

// foldAccent returns the ASCII letters of a French accented letter.
func foldAccent(r rune) (string, bool) {
	switch r {
	case 'à', 'â', 'ä', 'á', 'ã', 'å':
		return "a", true
	case 'é', 'è', 'ê', 'ë':
		return "e", true
	case 'î', 'ï', 'í', 'ì':
		return "i", true
	case 'ô', 'ö', 'ó', 'ò', 'õ':
		return "o", true
	case 'ù', 'û', 'ü', 'ú':
		return "u", true
	case 'ÿ':
		return "y", true
	case 'ç':
		return "c", true
	case 'ñ':
		return "n", true
	case 'œ':
		return "oe", true
	case 'æ':
		return "ae", true
	}
	return "", false
}
