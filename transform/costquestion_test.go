package transform

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestCostQuestionMatching runs the fixture (form question "Coût estimé")
// with the cost question configured as operators type it: the label is
// matched as the platform shows it (case, accents, punctuation, a prefix
// of the title), and a label that matches nothing fails the costs_published
// data test instead of publishing a release without costs.
func TestCostQuestionMatching(t *testing.T) {
	tests := []struct {
		label, match string // match "": no question, the run must fail
	}{
		{"Coût estimé", "exact"},
		{"coût ESTIMÉ", "exact"},
		{"Cout estime :", "exact"},
		{"  Coût-estimé (€) ", "exact"},
		{"Coût", "prefix"},
		{"Coût est", ""}, // a prefix ends at a word boundary
		{"Prix", ""},
	}
	for _, tt := range tests {
		t.Run(tt.label, func(t *testing.T) {
			db := fixtureDB(t)
			opts := fixtureOptions()
			opts.Sources[0].CostQuestion = tt.label
			rep, err := Run(context.Background(), db, opts)
			if tt.match == "" {
				if !errors.Is(err, ErrDataTests) || !strings.Contains(err.Error(), "costs_published") {
					t.Fatalf("Run = %v, want the costs_published data test to fail", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range rep.Costs {
				if c.Source != "landes" {
					continue
				}
				if c.Question != "Coût estimé" || c.Match != tt.match || c.FromForm != 1 || c.Label != tt.label {
					t.Errorf("landes costs = %+v, want question %q matched %s, 1 from the form", c, "Coût estimé", tt.match)
				}
				if !strings.Contains(rep.String(), `cost question "Coût estimé" (`+tt.match+` match of `) {
					t.Errorf("report does not name the chosen question:\n%s", rep.String())
				}
			}
		})
	}
}
