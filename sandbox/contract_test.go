package sandbox

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestIngestOperations runs the ingester's GraphQL operations
// (ingest/capco/queries) against the sandbox: each must validate and
// execute; only the expected internal errors (deleted authors, proposals in
// Project.contributions) may appear.
func TestIngestOperations(t *testing.T) {
	files, _ := filepath.Glob("../ingest/capco/queries/*.graphql")
	if len(files) == 0 {
		t.Skip("no ingest/capco/queries in this tree")
	}
	var doc strings.Builder
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		doc.Write(b)
		doc.WriteByte('\n')
	}
	s, ts := testServer(t, Options{Seed: 4, Instances: []string{"occitanie"}, Token: "contract"})
	in := s.World().ByName["occitanie"]
	var collect, selection *Step
	for _, st := range in.Steps {
		if st.Typename == TCollect && collect == nil {
			collect = st
		}
		if st.Typename == TSelection && selection == nil {
			selection = st
		}
	}
	var prop *Proposal
	var ids []string
	for _, p := range in.Proposals {
		if p.Visible() {
			ids = append(ids, p.ID)
			if prop == nil || len(p.Votes) > len(prop.Votes) {
				prop = p
			}
		}
	}
	for _, r := range in.Replies {
		ids = append(ids, r.ID)
	}
	var project *Project
	for _, p := range in.Projects {
		if p.Public && p.Budget == nil {
			project = p
		}
	}
	ops := regexp.MustCompile(`(?m)^query (\w+)`).FindAllStringSubmatch(doc.String(), -1)
	if len(ops) == 0 {
		t.Fatal("no operation found")
	}
	for _, op := range ops {
		name := op[1]
		t.Run(name, func(t *testing.T) {
			step := collect.ID
			if strings.Contains(name, "Selection") {
				step = selection.ID
			}
			vars := map[string]any{"first": 50, "after": nil, "step": step, "trashed": "NOT_TRASHED", "proposal": prop.ID,
				"project": project.ID, "questionnaire": in.Quests[0].ID, "ids": ids[:min(len(ids), 100)]}
			body := mustJSON(map[string]any{"query": doc.String(), "operationName": name, "variables": vars})
			for _, authed := range []bool{false, true} {
				hdr := map[string]string{}
				if authed {
					hdr["Authorization"] = "Bearer contract"
				}
				r := rawPost(t, ts.URL+"/occitanie/graphql", body, hdr)
				if r.status != 200 {
					t.Fatalf("authed=%v: status %d: %s", authed, r.status, r.body)
				}
				m := r.json(t)
				if m["data"] == nil {
					t.Fatalf("authed=%v: no data: %s", authed, r.body)
				}
				errs, _ := m["errors"].([]any)
				for _, e := range errs {
					switch {
					case dig(e, "extensions", "category") == "internal":
					case !authed && dig(e, "message") == "Access denied to this field.":
						// anonymous callers cannot read analyses/assessment/decision
					default:
						t.Errorf("authed=%v: unexpected error %v", authed, e)
					}
				}
			}
		})
	}
}
