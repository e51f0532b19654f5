// Package pabulib writes and checks Pabulib files (.pb), the format of the
// participatory-budgeting research library (pabulib.org) that pabutools
// and the community's checker read: a META section of key;value lines, a
// PROJECTS table and a VOTES table, ';' separated, lists comma-separated
// (../shared/pabulib/FORMAT.md).
//
// capstat builds one file per vote step of a release (Build): projects and
// winners from the release, ballots from the collectivity's own admin vote
// export (ReadVoteExport), since the public API gives no voter identity.
// Voter ids are keyed hashes, never the platform's. Validate checks a file
// against the format's rules independently of the writer; Parse reads one
// back.
package pabulib

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// File is one Pabulib election.
type File struct {
	Meta     []KV // in the checker's key order
	Projects []Project
	Votes    []Ballot
}

// KV is one META line.
type KV struct{ Key, Value string }

// Project is one PROJECTS row.
type Project struct {
	ID       string
	Cost     int64
	Votes    int64 // ballots containing the project
	Name     string
	Category []string
	Selected int // 1 funded (a winner), 0 not
	District string
}

// Ballot is one VOTES row: the projects a voter approved (or ranked, first
// choice first).
type Ballot struct {
	VoterID string
	Vote    []string
}

// metaOrder is the checker's order of META keys (FORMAT.md).
var metaOrder = []string{"description", "country", "unit", "instance", "num_projects", "num_votes", "budget",
	"vote_type", "rule", "date_begin", "date_end", "district", "subunit", "min_length", "max_length",
	"min_sum_cost", "max_sum_cost", "min_points", "max_points", "min_sum_points", "max_sum_points",
	"min_project_cost", "max_project_cost", "neighborhoods", "subdistricts", "categories", "edition",
	"language", "currency", "fully_funded", "experimental", "comment", "acknowledgments", "leftover_budget"}

var requiredMeta = []string{"description", "country", "unit", "instance", "num_projects", "num_votes", "budget",
	"vote_type", "rule", "date_begin", "date_end"}

// Get returns a META value ("" when absent).
func (f *File) Get(key string) string {
	for _, kv := range f.Meta {
		if kv.Key == key {
			return kv.Value
		}
	}
	return ""
}

// Set sets a META value, keeping the checker's key order.
func (f *File) Set(key, value string) {
	for i := range f.Meta {
		if f.Meta[i].Key == key {
			f.Meta[i].Value = value
			return
		}
	}
	f.Meta = append(f.Meta, KV{key, value})
	slices.SortStableFunc(f.Meta, func(a, b KV) int { return slices.Index(metaOrder, a.Key) - slices.Index(metaOrder, b.Key) })
}

// field keeps a text field on one line and free of the separators.
func field(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == '\n' || r == '\r' }), " ")
}

// listItem is an item of a comma-separated list: no comma inside.
func listItem(s string) string { return strings.TrimSpace(strings.ReplaceAll(field(s), ",", " ")) }

// Write writes f in the Pabulib format.
func (f *File) Write(w io.Writer) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("META\nkey;value\n")
	for _, kv := range f.Meta {
		fmt.Fprintf(bw, "%s;%s\n", kv.Key, field(kv.Value))
	}
	bw.WriteString("PROJECTS\nproject_id;cost;votes;name;category;selected;district\n")
	for _, p := range f.Projects {
		cats := make([]string, 0, len(p.Category))
		for _, c := range p.Category {
			if c = listItem(c); c != "" {
				cats = append(cats, c)
			}
		}
		fmt.Fprintf(bw, "%s;%d;%d;%s;%s;%d;%s\n", field(p.ID), p.Cost, p.Votes, field(p.Name), strings.Join(cats, ","), p.Selected, field(p.District))
	}
	bw.WriteString("VOTES\nvoter_id;vote\n")
	for _, b := range f.Votes {
		fmt.Fprintf(bw, "%s;%s\n", field(b.VoterID), strings.Join(b.Vote, ","))
	}
	return bw.Flush()
}

// Parse reads a Pabulib file (the columns this package writes, in any
// order the header gives).
func Parse(r io.Reader) (*File, error) {
	f := &File{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	section, line := "", 0
	var header []string
	var sections []string
	for sc.Scan() {
		line++
		text := strings.TrimSuffix(sc.Text(), "\r")
		if line == 1 {
			text = strings.TrimPrefix(text, "\ufeff")
		}
		switch strings.TrimSpace(text) {
		case "META", "PROJECTS", "VOTES":
			section, header = strings.TrimSpace(text), nil
			sections = append(sections, section)
			continue
		}
		if section == "" {
			return nil, fmt.Errorf("pabulib: line %d: text before the META section", line)
		}
		cells := strings.Split(text, ";")
		if header == nil {
			header = cells
			continue
		}
		if len(cells) != len(header) {
			return nil, fmt.Errorf("pabulib: line %d: %d fields, the %s header has %d", line, len(cells), section, len(header))
		}
		get := func(name string) string {
			if i := slices.Index(header, name); i >= 0 {
				return cells[i]
			}
			return ""
		}
		switch section {
		case "META":
			f.Meta = append(f.Meta, KV{cells[0], cells[1]})
		case "PROJECTS":
			cost, err := strconv.ParseFloat(strings.ReplaceAll(get("cost"), ",", "."), 64)
			if err != nil {
				return nil, fmt.Errorf("pabulib: line %d: cost %q: %w", line, get("cost"), err)
			}
			p := Project{ID: get("project_id"), Cost: int64(cost), Name: get("name"), District: get("district")}
			if v := get("votes"); v != "" {
				if p.Votes, err = strconv.ParseInt(v, 10, 64); err != nil {
					return nil, fmt.Errorf("pabulib: line %d: votes %q: %w", line, v, err)
				}
			}
			if v := get("selected"); v != "" {
				if p.Selected, err = strconv.Atoi(v); err != nil {
					return nil, fmt.Errorf("pabulib: line %d: selected %q: %w", line, v, err)
				}
			}
			if c := get("category"); c != "" {
				p.Category = strings.Split(c, ",")
			}
			f.Projects = append(f.Projects, p)
		case "VOTES":
			b := Ballot{VoterID: get("voter_id")}
			if v := get("vote"); v != "" {
				b.Vote = strings.Split(v, ",")
			}
			f.Votes = append(f.Votes, b)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("pabulib: %w", err)
	}
	if !slices.Equal(sections, []string{"META", "PROJECTS", "VOTES"}) {
		return nil, fmt.Errorf("pabulib: sections %v, want META, PROJECTS, VOTES in that order", sections)
	}
	return f, nil
}

// Validate checks f against the format's rules (FORMAT.md) and returns
// every problem found: META keys known, required, typed and in order;
// num_projects and num_votes equal to the rows; unique project and voter
// ids; every voted project listed; each project's votes equal to the
// ballots holding it; no project twice in a ballot; ballot lengths within
// min_length and max_length; the selected projects within the budget
// under the greedy rule.
func Validate(f *File) []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	last := -1
	for _, kv := range f.Meta {
		i := slices.Index(metaOrder, kv.Key)
		switch {
		case i < 0:
			bad("META: unknown key %q", kv.Key)
		case i < last:
			bad("META: key %q out of order", kv.Key)
		}
		last = max(last, i)
	}
	for _, k := range requiredMeta {
		if f.Get(k) == "" {
			bad("META: required key %q missing", k)
		}
	}
	intMeta := func(k string) (int64, bool) {
		v := f.Get(k)
		if v == "" {
			return 0, false
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			bad("META: %s = %q is not an integer", k, v)
			return 0, false
		}
		return n, true
	}
	if n, ok := intMeta("num_projects"); ok && n != int64(len(f.Projects)) {
		bad("META: num_projects = %d, PROJECTS has %d rows", n, len(f.Projects))
	}
	if n, ok := intMeta("num_votes"); ok && n != int64(len(f.Votes)) {
		bad("META: num_votes = %d, VOTES has %d rows", n, len(f.Votes))
	}
	if vt := f.Get("vote_type"); vt != "" && !slices.Contains([]string{"approval", "ordinal", "cumulative", "scoring"}, vt) {
		bad("META: vote_type %q is not approval, ordinal, cumulative or scoring", vt)
	}
	if c := f.Get("comment"); c != "" && !strings.HasPrefix(c, "#1: ") {
		bad("META: comment must start with %q", "#1: ")
	}
	budget, err := strconv.ParseFloat(strings.ReplaceAll(f.Get("budget"), ",", "."), 64)
	if f.Get("budget") != "" && err != nil {
		bad("META: budget %q is not a number", f.Get("budget"))
	}
	minLen, hasMin := intMeta("min_length")
	maxLen, hasMax := intMeta("max_length")

	cost := map[string]int64{}
	var selectedCost int64
	for _, p := range f.Projects {
		if p.ID == "" {
			bad("PROJECTS: empty project_id")
		}
		if _, dup := cost[p.ID]; dup {
			bad("PROJECTS: project_id %q twice", p.ID)
		}
		cost[p.ID] = p.Cost
		if p.Cost < 0 {
			bad("PROJECTS: project %s: negative cost", p.ID)
		}
		if p.Selected < 0 || p.Selected > 3 {
			bad("PROJECTS: project %s: selected = %d", p.ID, p.Selected)
		}
		if p.Selected == 1 {
			selectedCost += p.Cost
		}
		for _, c := range p.Category {
			if c != strings.TrimSpace(c) || c == "" {
				bad("PROJECTS: project %s: category %q has spaces around it or is empty", p.ID, c)
			}
		}
	}
	// The budget bounds the winners where the rule can be recomputed
	// (greedy); winners chosen otherwise ("unknown": by the platform's
	// administrators) are what they are.
	if err == nil && budget > 0 && f.Get("rule") == "greedy" && float64(selectedCost) > budget {
		bad("PROJECTS: the selected projects cost %d, over the budget %v of the greedy rule", selectedCost, budget)
	}
	counted := map[string]int64{}
	voters := map[string]bool{}
	for _, b := range f.Votes {
		if b.VoterID == "" || voters[b.VoterID] {
			bad("VOTES: voter_id %q empty or twice", b.VoterID)
		}
		voters[b.VoterID] = true
		seen := map[string]bool{}
		for _, p := range b.Vote {
			if _, ok := cost[p]; !ok {
				bad("VOTES: voter %s: project %q is not in PROJECTS", b.VoterID, p)
			}
			if seen[p] {
				bad("VOTES: voter %s: project %q twice in one ballot", b.VoterID, p)
			}
			seen[p] = true
			counted[p]++
		}
		if len(b.Vote) == 0 {
			bad("VOTES: voter %s: empty ballot", b.VoterID)
		}
		if hasMin && int64(len(b.Vote)) < minLen {
			bad("VOTES: voter %s: %d projects, under min_length %d", b.VoterID, len(b.Vote), minLen)
		}
		if hasMax && int64(len(b.Vote)) > maxLen {
			bad("VOTES: voter %s: %d projects, over max_length %d", b.VoterID, len(b.Vote), maxLen)
		}
	}
	for _, p := range f.Projects {
		if p.Votes != counted[p.ID] {
			bad("PROJECTS: project %s: votes = %d, %d ballots hold it", p.ID, p.Votes, counted[p.ID])
		}
	}
	return errs
}
