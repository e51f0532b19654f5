package sandbox

import (
	"fmt"
	"strings"
)

// hostileMarks are what the generator's hostile test strings contain:
// markup that every layer must escape (titles such as
// "<script>alert(1)</script>", bodies with an onerror attribute).
var hostileMarks = []string{"<script", "onerror=", "alert("}

func hostile(s string) bool {
	for _, m := range hostileMarks {
		if strings.Contains(s, m) {
			return true
		}
	}
	return false
}

// WithoutHostileText replaces the hostile test strings of the world with
// plain French text, for the demo that people see first; tests keep them,
// to check that every layer escapes them. IDs, counts, dates and order are
// unchanged. Call it before serving the world.
func (w *World) WithoutHostileText() {
	for _, in := range w.Instances {
		for _, pr := range in.Proposals {
			if hostile(pr.Title) {
				pr.Title = fmt.Sprintf("Proposition n° %s", pr.Reference)
				old := pr.Slug
				pr.Slug = slugify(pr.Title)
				pr.URL = strings.TrimSuffix(pr.URL, "/"+old) + "/" + pr.Slug
			}
			if hostile(pr.Body) {
				pr.Body = "<p>Nous proposons un projet pour le quartier.</p>"
			}
		}
		for _, r := range in.Replies {
			for _, rs := range r.Responses {
				if hostile(rs.Value) {
					rs.Value = "Rien à signaler"
				}
			}
		}
		for _, c := range in.Contribs {
			if hostile(c.Body) {
				c.Body = "Tout à fait d'accord !"
			}
		}
	}
}
