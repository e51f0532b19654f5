package sandbox

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
)

// VoteStep returns the step of a budget project where its proposals get
// their votes: the selection step whose time range holds the most votes
// (nil when none), as transform finds the vote phase.
func (p *Project) VoteStep() *Step {
	var best *Step
	bestVotes := 0
	for _, s := range p.Steps {
		if s.Typename != TSelection {
			continue
		}
		n := 0
		for _, pr := range s.Proposals {
			for _, v := range pr.Votes {
				t := time.Unix(v.CreatedAt, 0)
				if (s.Start == nil || !t.Before(*s.Start)) && (s.End == nil || !t.After(*s.End)) {
					n++
				}
			}
		}
		if n > bestVotes {
			best, bestVotes = s, n
		}
	}
	return best
}

// VoteExportName is the file name the platform gives the export of a
// step's votes (votes_{projectSlug}_{stepSlug}_simplified.csv).
func VoteExportName(s *Step) string {
	return "votes_" + s.Project.Slug + "_" + s.Slug + "_simplified.csv"
}

// WriteVoteExport writes the administrators' simplified vote export of a
// vote step as the platform does (../shared/capco/vote-export.md): UTF-8
// with a BOM, ';' separated, 9 columns, the reference in literal quotes,
// Oui/Non, Paris wall-clock dates. The API has no voter identity, so the
// sandbox deals its votes into ballots deterministically: the k-th vote
// (newest first) of the i-th proposal goes to participant k+3i, so that
// no ballot holds a proposal twice and each proposal keeps its count.
func (w *World) WriteVoteExport(out io.Writer, s *Step) error {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(out)
	bw.WriteString("\ufeff")
	bw.WriteString("export_proposal_id;export_proposal_reference;export_proposal_title;export_proposal_link;export_proposal_votes_id;export_proposal_votes_ranking;export_proposal_votes_published_at;export_proposal_votes_anonymous;export_proposal_votes_author_id\n")
	props := append([]*Proposal(nil), s.Proposals...)
	sort.SliceStable(props, func(i, j int) bool { return props[i].Reference < props[j].Reference })
	for i, pr := range props {
		if !pr.Visible() {
			continue
		}
		for k, v := range pr.Votes {
			anonymous := "Non"
			if v.Anonymous {
				anonymous = "Oui"
			}
			published := ""
			if v.PublishedAt != 0 {
				published = time.Unix(v.PublishedAt, 0).In(paris).Format(time.DateTime)
			}
			voter := fmt.Sprintf("%08x-0000-4000-8000-%012x", hashName(s.Project.UUID)&0xffffffff, k+3*i+1)
			rec := []string{pr.UUID, `"` + pr.Reference + `"`, pr.Title, pr.URL, strconv.FormatInt(v.ID, 10), "1", published, anonymous, voter}
			for i, f := range rec {
				rec[i] = csvField(f)
			}
			bw.WriteString(strings.Join(rec, ";") + "\n")
		}
	}
	return bw.Flush()
}

// csvField quotes a field as PHP's fputcsv does: only when needed, with
// quotes doubled.
func csvField(f string) string {
	if strings.ContainsAny(f, "\";\n\r\t ") {
		return `"` + strings.ReplaceAll(f, `"`, `""`) + `"`
	}
	return f
}
