package sandbox

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
)

// selectAll builds a selection of every field of a type down to depth,
// with inline fragments on every possible type of abstract types.
func selectAll(s *ast.Schema, typ string, depth int) string {
	def := s.Types[typ]
	if def == nil || depth == 0 {
		return "__typename"
	}
	var b strings.Builder
	b.WriteString("__typename")
	writeFields := func(d *ast.Definition, alias bool) {
		for _, f := range d.Fields {
			if strings.HasPrefix(f.Name, "__") {
				continue
			}
			for _, a := range f.Arguments {
				if a.Type.NonNull && a.DefaultValue == nil {
					goto skip
				}
			}
			{
				inner := s.Types[f.Type.Name()]
				b.WriteString(" ")
				if alias {
					b.WriteString(d.Name + "_" + f.Name + ": ")
				}
				b.WriteString(f.Name)
				if inner.Kind == ast.Object || inner.Kind == ast.Interface || inner.Kind == ast.Union {
					b.WriteString(" { " + selectAll(s, inner.Name, depth-1) + " }")
				}
			}
		skip:
		}
	}
	switch def.Kind {
	case ast.Object:
		writeFields(def, false)
	case ast.Interface, ast.Union:
		for _, p := range s.PossibleTypes[def.Name] {
			b.WriteString(" ... on " + p.Name + " { ")
			writeFields(p, true)
			b.WriteString(" }")
		}
	}
	return b.String()
}

// TestSelectEverything selects every field of the schema, three levels deep,
// from every root list and from node() on every kind of record: the
// executor must answer 200 with data and only the expected errors.
func TestSelectEverything(t *testing.T) {
	s, ts := testServer(t, Options{Seed: 6, Instances: []string{"pas-de-calais"}})
	in := s.World().ByName["pas-de-calais"]
	url := ts.URL + "/pas-de-calais/graphql"
	allowed := []string{"Access denied to this field.", "Internal server Error"}
	check := func(t *testing.T, query string, vars map[string]any) {
		r := post(t, url, query, vars, nil)
		if r.status != 200 {
			t.Fatalf("status %d: %.500s", r.status, r.body)
		}
		m := r.json(t)
		if m["data"] == nil {
			t.Fatalf("no data: %.1000s", r.body)
		}
		errs, _ := m["errors"].([]any)
		for _, e := range errs {
			msg, _ := dig(e, "message").(string)
			ok := false
			for _, a := range allowed {
				ok = ok || msg == a
			}
			if !ok {
				t.Errorf("unexpected error %v", e)
			}
			if testing.Verbose() {
				t.Logf("error %v", e)
			}
		}
	}
	for _, root := range []string{"projects", "events", "users", "globalDistricts"} {
		t.Run(root, func(t *testing.T) {
			conn := s.preview.Query.Fields.ForName(root).Type.Name()
			check(t, fmt.Sprintf("{ %s(first: 5) { %s } }", root, selectAll(s.preview, conn, 4)), nil)
		})
	}
	ids := map[string]string{"Project": in.Projects[0].ID, "Questionnaire": in.Quests[0].ID, "Question": in.Questions[0].ID,
		"Contribution": in.Contribs[len(in.Contribs)-1].ID, "Reply": in.Replies[0].ID, "UserType": in.UserTypes[0].ID}
	for _, p := range in.Proposals {
		if p.Visible() && len(p.Selections) > 0 && p.Address != nil {
			ids["Proposal"] = p.ID
			break
		}
	}
	for _, st := range in.Steps {
		ids["Step "+st.Typename] = st.ID
	}
	for name, id := range ids {
		t.Run("node "+name, func(t *testing.T) {
			check(t, fmt.Sprintf("query($id: ID!) { node(id: $id) { %s } }", selectAll(s.preview, "Node", 3)), map[string]any{"id": id})
		})
	}
	t.Run("with token", func(t *testing.T) {
		s2, ts2 := testServer(t, Options{Seed: 6, Instances: []string{"pas-de-calais"}, Token: "t"})
		r := post(t, ts2.URL+"/pas-de-calais/graphql", fmt.Sprintf("query($id: ID!) { node(id: $id) { %s } viewer { id } }", selectAll(s2.preview, "Node", 3)),
			map[string]any{"id": ids["Proposal"]}, map[string]string{"Authorization": "Bearer t"})
		if r.status != 200 || strings.Contains(string(r.body), "Access denied") {
			t.Fatalf("%d %.800s", r.status, r.body)
		}
	})
}
