package sandbox

import (
	"strings"
	"testing"
)

// TestWithoutHostileText: the test world carries hostile strings, the demo
// world none, with the same ids and counts.
func TestWithoutHostileText(t *testing.T) {
	count := func(w *World) (hostiles, proposals int) {
		for _, in := range w.Instances {
			proposals += len(in.Proposals)
			for _, pr := range in.Proposals {
				if hostile(pr.Title) || hostile(pr.Body) || strings.Contains(pr.URL, "script") {
					hostiles++
				}
			}
			for _, r := range in.Replies {
				for _, rs := range r.Responses {
					if hostile(rs.Value) {
						hostiles++
					}
				}
			}
		}
		return
	}
	test := GenerateInstances(1, Tiny, []string{"landes"})
	demo := GenerateInstances(1, Tiny, []string{"landes"})
	demo.WithoutHostileText()
	th, tp := count(test)
	dh, dp := count(demo)
	if th == 0 {
		t.Fatal("the test world has no hostile strings: the escaping tests test nothing")
	}
	if dh != 0 || dp != tp {
		t.Errorf("demo world: %d hostile strings, %d proposals (test world: %d proposals)", dh, dp, tp)
	}
	for i, pr := range demo.Instances[0].Proposals {
		if pr.ID != test.Instances[0].Proposals[i].ID {
			t.Fatalf("proposal %d id changed", i)
		}
	}
}
