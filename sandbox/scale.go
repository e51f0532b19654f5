package sandbox

import (
	"fmt"
	"strings"
)

// Scale selects the data volume of a generated world.
type Scale int

// Scales, smallest first.
const (
	Tiny   Scale = iota // a few hundred records per instance (unit tests)
	Small               // a few thousand records per instance
	Medium              // hundreds of proposals, tens of thousands of votes per edition
	Large               // ≈ 3 million records in total
)

var scaleNames = [...]string{"tiny", "small", "medium", "large"}

// String returns the scale name ("tiny"…).
func (s Scale) String() string {
	if s < 0 || int(s) >= len(scaleNames) {
		return fmt.Sprintf("Scale(%d)", int(s))
	}
	return scaleNames[s]
}

// ParseScale parses "tiny", "small", "medium" or "large".
func ParseScale(s string) (Scale, error) {
	for i, n := range scaleNames {
		if strings.EqualFold(strings.TrimSpace(s), n) {
			return Scale(i), nil
		}
	}
	return 0, fmt.Errorf("unknown sandbox scale %q (want tiny, small, medium or large)", s)
}

// params are the per-instance volumes of a scale.
type params struct {
	editions  int // participatory-budget editions
	proposals int // proposals per edition
	votesAvg  int // average votes per proposal
	users     int
	contribs  int // consultation contributions
	replies   int
	events    int
	districts int
	ideas     int // proposals of the concertation's idea box
	private   int // proposals of the private project
}

func (s Scale) params() params {
	switch s {
	case Small:
		return params{3, 80, 12, 600, 150, 150, 15, 6, 20, 10}
	case Medium:
		return params{3, 350, 70, 3000, 600, 800, 40, 12, 60, 20}
	case Large:
		return params{3, 900, 120, 12000, 2000, 3000, 80, 20, 150, 40}
	default:
		return params{2, 12, 4, 40, 20, 15, 4, 3, 5, 3}
	}
}

// DefaultInstances are the nine collectivities the sandbox serves.
var DefaultInstances = []string{"gironde", "landes", "meuse", "tarn", "deux-sevres", "charente", "pas-de-calais", "correze", "occitanie"}

// collectivity describes an instance's geography and budget habits.
type collectivity struct {
	label                  string
	latMin, latMax         float64
	lngMin, lngMax         float64
	towns                  []town
	model                  string
	envelopeScale          int64 // typical envelope in euros
	winnerStatus, loserStr string
}

type town struct{ name, zip string }

var collectivities = map[string]collectivity{
	"gironde": {"Département de la Gironde", 44.2, 45.6, -1.25, 0.3,
		[]town{{"Bordeaux", "33000"}, {"Mérignac", "33700"}, {"Pessac", "33600"}, {"Libourne", "33500"}, {"Arcachon", "33120"}},
		"bp", 2_000_000, "Lauréat", "Non retenu"},
	"landes": {"Département des Landes", 43.5, 44.5, -1.5, 0.1,
		[]town{{"Mont-de-Marsan", "40000"}, {"Dax", "40100"}, {"Biscarrosse", "40600"}, {"Saint-Sever", "40500"}},
		"bp", 1_500_000, "Lauréat", "Non retenu"},
	"meuse": {"Département de la Meuse", 48.4, 49.6, 4.9, 5.9,
		[]town{{"Bar-le-Duc", "55000"}, {"Verdun", "55100"}, {"Commercy", "55200"}},
		"appel-a-projets", 300_000, "Vote gagné", "Non retenu"},
	"tarn": {"Département du Tarn", 43.4, 44.2, 1.55, 2.9,
		[]town{{"Albi", "81000"}, {"Castres", "81100"}, {"Gaillac", "81600"}, {"Lavaur", "81500"}},
		"bp-thematique", 800_000, "Vote gagné", "Non retenu"},
	"deux-sevres": {"Département des Deux-Sèvres", 45.95, 47.1, -0.9, 0.2,
		[]town{{"Niort", "79000"}, {"Bressuire", "79300"}, {"Parthenay", "79200"}},
		"bp", 500_000, "Lauréat", "Non retenu"},
	"charente": {"Département de la Charente", 45.2, 46.1, -0.45, 0.95,
		[]town{{"Angoulême", "16000"}, {"Cognac", "16100"}, {"Confolens", "16500"}},
		"orientations", 400_000, "Vote gagné", "Non retenu"},
	"pas-de-calais": {"Département du Pas-de-Calais", 50.0, 51.0, 1.6, 3.2,
		[]town{{"Arras", "62000"}, {"Calais", "62100"}, {"Boulogne-sur-Mer", "62200"}, {"Lens", "62300"}, {"Béthune", "62400"}},
		"bp", 2_500_000, "Lauréat", "Non retenu"},
	"correze": {"Département de la Corrèze", 44.9, 45.75, 1.25, 2.5,
		[]town{{"Tulle", "19000"}, {"Brive-la-Gaillarde", "19100"}, {"Ussel", "19200"}},
		"bp-thematique", 600_000, "Vote gagné", "Non retenu"},
	"occitanie": {"Région Occitanie", 42.5, 45.0, -0.3, 4.8,
		[]town{{"Toulouse", "31000"}, {"Montpellier", "34000"}, {"Nîmes", "30000"}, {"Perpignan", "66000"}, {"Rodez", "12000"}},
		"bp-thematique", 5_000_000, "Lauréat", "Non retenu"},
}
