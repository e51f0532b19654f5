package datasets

import (
	"strings"
	"testing"
)

func TestLoad(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"projects", "steps", "proposals", "proposal_votes", "contributions", "events", "users", "districts", "participation_daily", "budget_comparison"} {
		if _, ok := c.Dataset(name); !ok {
			t.Errorf("dataset %s missing from the data contract", name)
		}
	}
	for _, d := range c.Datasets {
		for _, col := range d.Columns {
			for _, forbidden := range []string{"username", "email", "author_id", "biography"} {
				if strings.EqualFold(col.Name, forbidden) {
					t.Errorf("dataset %s publishes forbidden column %s", d.Name, col.Name)
				}
			}
		}
	}
}

func TestValidateRejects(t *testing.T) {
	tests := []struct {
		name string
		c    Contract
		want string
	}{
		{"bad type", Contract{Datasets: []Dataset{{Name: "a", Table: "t.a", Description: "x", DescriptionFR: "x", Columns: []Column{{Name: "c", Type: "TEXT", Description: "x", DescriptionFR: "x"}}}}}, "unknown type"},
		{"bad key", Contract{Datasets: []Dataset{{Name: "a", Table: "t.a", Description: "x", DescriptionFR: "x", PrimaryKey: []string{"z"}}}}, "primary key"},
		{"bad fk", Contract{Datasets: []Dataset{{Name: "a", Table: "t.a", Description: "x", DescriptionFR: "x", ForeignKeys: []ForeignKey{{Fields: []string{"c"}, Reference: "b"}}}}}, "unknown dataset"},
	}
	for _, tt := range tests {
		err := tt.c.validate()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want error containing %q", tt.name, err, tt.want)
		}
	}
}

// TestEnums: the enums other packages derive their allowed values from
// are declared, labelled, and referenced by their columns.
func TestEnums(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"collectivity_kind", "exercise_model", "phase", "cost_source", "participants_method", "comparable_on", "step_state"} {
		if len(c.Enum(name)) == 0 {
			t.Errorf("enum %s is not declared", name)
		}
	}
	if got := c.Label("collectivity_kind", "region"); got != "Région" {
		t.Errorf("Label(collectivity_kind, region) = %q", got)
	}
	if got := c.Label("collectivity_kind", "planète"); got != "planète" {
		t.Errorf("Label of an unknown value = %q, want the value", got)
	}
	d, _ := c.Dataset("steps")
	if col, _ := d.Column("phase"); col.Enum != "phase" {
		t.Errorf("steps.phase enum = %q", col.Enum)
	}
	bad := *c
	bad.Datasets = append([]Dataset(nil), c.Datasets...)
	bad.Datasets[0].Columns = append([]Column{{Name: "x", Type: "VARCHAR", Description: "x", DescriptionFR: "x", Enum: "nope"}}, c.Datasets[0].Columns...)
	if err := bad.validate(); err == nil || !strings.Contains(err.Error(), `unknown enum "nope"`) {
		t.Errorf("validate with an unknown enum = %v", err)
	}
}
