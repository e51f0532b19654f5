package pabulib

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func TestReadVoteExport(t *testing.T) {
	f, err := os.Open("testdata/votes_simplified.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	votes, err := ReadVoteExport(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(votes) != 3 || votes[0].Reference != "7-1" || votes[0].Title != "Jardin ; partagé" || !votes[1].Anonymous || votes[2].AuthorID != "voter-2" || votes[1].VoteID != 1002 {
		t.Errorf("votes = %+v", votes)
	}
	// The platform's own tests use ','.
	comma := "export_proposal_id,export_proposal_reference,export_proposal_title,export_proposal_link,export_proposal_votes_id,export_proposal_votes_ranking,export_proposal_votes_published_at,export_proposal_votes_anonymous,export_proposal_votes_author_id\nuuid-a,\"\"\"7-1\"\"\",T,l,5,2,,Non,v\n"
	if v, err := ReadVoteExport(strings.NewReader(comma)); err != nil || len(v) != 1 || v[0].Ranking != 2 {
		t.Errorf("comma-separated: %v, %+v", err, v)
	}
	const head = "export_proposal_id;export_proposal_reference;export_proposal_title;export_proposal_link;export_proposal_votes_id;export_proposal_votes_ranking;export_proposal_votes_published_at;export_proposal_votes_anonymous;export_proposal_votes_author_id\n"
	for _, tt := range []struct{ name, csv, want string }{
		{"contributions export", "export_proposal_id;export_proposal_title;export_proposal_estimation\na;b;1\n", "missing or out of place: export_proposal_reference"},
		{"unknown layout", "a;b;c\n1;2;3\n", "not the 9 of the platform's simplified vote export"},
		{"duplicate vote id", head + "a;\"7-1\";t;l;1;1;;Non;v1\nb;\"7-2\";t;l;1;1;;Non;v2\n", "line 3: vote id 1 already on line 2"},
		{"duplicate ballot", head + "a;\"7-1\";t;l;1;1;;Non;v1\na;\"7-1\";t;l;2;1;;Non;v1\n", "voted twice for proposal 7-1"},
		{"bad anonymous", head + "a;\"7-1\";t;l;1;1;;Peut-être;v1\n", "not Oui or Non"},
		{"empty", head, "no vote"},
	} {
		if _, err := ReadVoteExport(strings.NewReader(tt.csv)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error with %q", tt.name, err, tt.want)
		}
	}
}

func goodFile() *File {
	f := &File{
		Projects: []Project{{ID: "a", Cost: 600, Votes: 2, Name: "Jardin", Category: []string{"Nature"}, Selected: 1}, {ID: "b", Cost: 500, Votes: 1, Name: "Piste", Selected: 0}},
		Votes:    []Ballot{{VoterID: "h1", Vote: []string{"a", "b"}}, {VoterID: "h2", Vote: []string{"a"}}},
	}
	for _, kv := range [][2]string{{"description", "Test"}, {"country", "France"}, {"unit", "Landes"}, {"instance", "2024"},
		{"num_projects", "2"}, {"num_votes", "2"}, {"budget", "1000"}, {"vote_type", "approval"}, {"rule", "greedy"},
		{"date_begin", "01.05.2024"}, {"date_end", "31.05.2024"}, {"max_length", "2"}} {
		f.Set(kv[0], kv[1])
	}
	return f
}

// TestValidate: a good file passes, written and read back; each broken one
// is caught by the rule it breaks.
func TestValidate(t *testing.T) {
	var buf bytes.Buffer
	if err := goodFile().Write(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := Parse(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if errs := Validate(back); len(errs) != 0 {
		t.Fatalf("good file: %v\n%s", errs, buf.String())
	}
	for _, tt := range []struct {
		name   string
		break_ func(*File)
		want   string
	}{
		{"num_votes", func(f *File) { f.Set("num_votes", "3") }, "num_votes = 3"},
		{"unknown key", func(f *File) { f.Meta = append(f.Meta, KV{"colour", "blue"}) }, `unknown key "colour"`},
		{"order", func(f *File) { f.Meta[0], f.Meta[1] = f.Meta[1], f.Meta[0] }, "out of order"},
		{"missing key", func(f *File) { f.Meta = f.Meta[1:] }, `required key "description"`},
		{"unknown project", func(f *File) { f.Votes[1].Vote = []string{"z"} }, `project "z" is not in PROJECTS`},
		{"votes count", func(f *File) { f.Projects[1].Votes = 5 }, "votes = 5, 1 ballots hold it"},
		{"twice in a ballot", func(f *File) { f.Votes[0].Vote = []string{"a", "a"} }, "twice in one ballot"},
		{"max length", func(f *File) { f.Set("max_length", "1") }, "over max_length 1"},
		{"budget", func(f *File) { f.Projects[1].Selected = 1 }, "over the budget"},
		{"vote type", func(f *File) { f.Set("vote_type", "plurality") }, "vote_type"},
		{"duplicate voter", func(f *File) { f.Votes[1].VoterID = "h1" }, "twice"},
		{"comment", func(f *File) { f.Set("comment", "no prefix") }, "#1: "},
	} {
		f := goodFile()
		tt.break_(f)
		errs := Validate(f)
		found := false
		for _, e := range errs {
			found = found || strings.Contains(e.Error(), tt.want)
		}
		if !found {
			t.Errorf("%s: %v, want an error with %q", tt.name, errs, tt.want)
		}
	}
	if _, err := Parse(strings.NewReader("PROJECTS\nproject_id;cost\nMETA\nkey;value\n")); err == nil {
		t.Error("sections out of order were read")
	}
}

func TestFileName(t *testing.T) {
	v := VoteStep{Collectivity: "Corrèze", Edition: "2025", StepTitle: "Vote des habitant·es"}
	if got := v.FileName(); got != "france_correze_2025_vote-des-habitant-es.pb" {
		t.Errorf("FileName = %q", got)
	}
}
