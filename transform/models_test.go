package transform

import (
	"strings"
	"testing"
)

func TestModelsOrder(t *testing.T) {
	ms, err := Models(seedNames)
	if err != nil {
		t.Fatal(err)
	}
	pos := map[string]int{}
	for i, m := range ms {
		pos[m.Name] = i
	}
	for _, m := range ms {
		for _, d := range m.Deps {
			if p, ok := pos[d]; ok && p > pos[m.Name] {
				t.Errorf("%s runs before its dependency %s", m.Name, d)
			}
		}
		if m.Doc == "" || !strings.HasPrefix(m.Doc, m.Name) {
			t.Errorf("%s: header comment should start with the model name, got %q", m.Name, firstLine(m.Doc))
		}
	}
	if pos["core.proposals"] < pos["staging.proposal_costs"] || pos["metrics.collectivity_ranking"] < pos["metrics.budget_comparison"] {
		t.Error("wrong order")
	}
}

func TestTopoSortCycle(t *testing.T) {
	a := &Model{Name: "core.a", Deps: []string{"core.b"}}
	b := &Model{Name: "core.b", Deps: []string{"core.a"}}
	_, err := topoSort([]*Model{a, b}, map[string]*Model{"core.a": a, "core.b": b})
	if err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Errorf("cycle not detected: %v", err)
	}
}

func TestSlug(t *testing.T) {
	tests := map[string]string{
		"Landes": "landes", "Deux-Sèvres": "deux-sevres", "Occitanie": "occitanie",
		"Seine-Saint-Denis": "seine-saint-denis", "Pas-de-Calais": "pas-de-calais", "Corrèze": "correze",
		"Côtes-d'Armor": "cotes-d-armor", "Provence-Alpes-Côte d'Azur": "provence-alpes-cote-d-azur",
		"Île-de-France": "ile-de-france", "La Réunion": "la-reunion",
	}
	for in, want := range tests {
		if got := Slug(in); got != want {
			t.Errorf("Slug(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCollectivitySlugs(t *testing.T) {
	ref, err := ReferenceCollectivities()
	if err != nil {
		t.Fatal(err)
	}
	if len(ref) != 119 {
		t.Errorf("%d collectivities, want 101 départements + 18 régions", len(ref))
	}
	m := CollectivitySlugs(ref)
	for slug, code := range map[string]string{
		"landes": "40", "deux-sevres": "79", "occitanie": "R76", "seine-saint-denis": "93", "pas-de-calais": "62",
		"correze": "19", "gironde": "33", "cotes-darmor": "22", "reunion": "974", "mayotte": "976", "corse": "R94",
		"corse-du-sud": "2A", "nouvelle-aquitaine": "R75",
	} {
		if m[slug] != code {
			t.Errorf("slug %s → %q, want %q", slug, m[slug], code)
		}
	}
	for _, c := range ref {
		if c.Code == "40" && c.Population != 433570 {
			t.Errorf("Landes population %d", c.Population)
		}
		if c.Code == "976" && c.PopulationYear != 2017 {
			t.Errorf("Mayotte year %d", c.PopulationYear)
		}
	}
}
