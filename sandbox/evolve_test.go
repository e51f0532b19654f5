package sandbox

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// worldDigest hashes, per instance, every id and the fields an evolution
// step may change, in list order: two worlds with the same digest serve
// the same data.
func worldDigest(w *World) map[string]string {
	out := map[string]string{}
	ts := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return t.UTC().Format(time.RFC3339)
	}
	for _, in := range w.Instances {
		h := sha256.New()
		fmt.Fprintf(h, "now %s epoch %d votes %d last %d\n", in.now.UTC(), w.Epoch, in.VotesTotal, in.lastVote)
		for _, p := range in.Projects {
			fmt.Fprintf(h, "P %s %s %s %d %d %d\n", p.ID, p.Title, p.PublishedAt.UTC(), p.VotesCount, p.ContributionsCount, len(p.Districts))
			for _, s := range p.Steps {
				fmt.Fprintf(h, " S %s %s %s %s %d %d\n", s.ID, s.Title, ts(s.Start), ts(s.End), len(s.Proposals), s.VotesCount)
			}
			for _, c := range p.Contributions {
				fmt.Fprintf(h, " C %s\n", contribKey(c).id)
			}
			for _, u := range p.Contributors {
				fmt.Fprintf(h, " U %s\n", u.ID)
			}
		}
		for _, pr := range in.Proposals {
			author := "-"
			if pr.Author != nil {
				author = pr.Author.ID
			}
			fmt.Fprintf(h, "R %s %s %q %s %s %v %s %s %d %s %d\n", pr.ID, pr.Reference, pr.Title, ts(pr.UpdatedAt), ts(pr.PublishedAt),
				pr.Trashed, pr.TrashedStatus, ts(pr.TrashedAt), pr.Cost, author, len(pr.Responses))
			for _, v := range pr.Votes {
				fmt.Fprintf(h, " v %d %d %d %v\n", v.ID, v.CreatedAt, v.PublishedAt, v.Anonymous)
			}
		}
		for _, c := range in.Contribs {
			rel := "-"
			if c.Related != nil {
				rel = c.Related.ID
			}
			fmt.Fprintf(h, "K %s %s %s %s\n", c.ID, c.CreatedAt.UTC(), rel, c.Body)
		}
		for _, u := range in.Users {
			fmt.Fprintf(h, "U %s %s %s\n", u.ID, u.Username, u.CreatedAt.UTC())
		}
		for _, q := range in.Questions {
			fmt.Fprintf(h, "Q %s %d\n", q.ID, len(q.answers))
		}
		fmt.Fprintf(h, "ids %d %d\n", len(in.byGlobalID), len(in.byRawID))
		out[in.Name] = hex.EncodeToString(h.Sum(nil))
	}
	return out
}

func adminPost(t testing.TB, url string) (int, string) {
	t.Helper()
	res, err := http.Post(url, "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func httpGet(t testing.TB, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// evolveQueries are responses compared byte for byte between worlds.
var evolveQueries = []string{
	`{ projects(first: 10) { totalCount edges { cursor node { id title publishedAt votes { totalCount } contributionsCount
		contributions(first: 50) { totalCount edges { cursor } }
		steps { __typename id title state timeRange { startAt endAt }
			... on CollectStep { proposals(first: 100, orderBy: [{field: PUBLISHED_AT, direction: DESC}]) { totalCount edges { cursor node { id title updatedAt votes(first: 3) { totalCount edges { cursor node { id publishedAt } } } } } } }
			... on SelectionStep { proposals(first: 100, orderBy: [{field: VOTES, direction: DESC}]) { totalCount edges { cursor node { id title votes(first: 3) { totalCount edges { cursor node { id publishedAt } } } } } } }
			... on ConsultationStep { votesCount } } } } } }`,
	`{ users(first: 20) { totalCount edges { cursor node { id username createdAt } } } }`,
}

func TestEvolveDeterminism(t *testing.T) {
	for _, tt := range []struct {
		name      string
		scale     Scale
		epochs    int
		plainText bool
	}{
		{"tiny-3", Tiny, 3, false},
		{"small-3-plain", Small, 3, true},
		{"tiny-9", Tiny, 9, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			opts := Options{Seed: 5, Scale: tt.scale, Instances: []string{"gironde", "meuse"}, PlainText: tt.plainText}
			started := opts
			started.Epoch = tt.epochs
			a, tsA := testServer(t, started)
			b, tsB := testServer(t, opts)
			for i := 1; i <= tt.epochs; i++ {
				if code, body := adminPost(t, tsB.URL+"/_admin/epoch"); code != 200 || body != fmt.Sprintf(`{"epoch":%d}`, i) {
					t.Fatalf("advance %d: %d %s", i, code, body)
				}
			}
			direct := GenerateInstances(opts.Seed, opts.Scale, opts.Instances)
			if tt.plainText {
				direct.WithoutHostileText()
			}
			if err := direct.AdvanceTo(tt.epochs); err != nil {
				t.Fatal(err)
			}
			for name, w := range map[string]*World{"stepwise": b.World(), "AdvanceTo": direct} {
				if w.Epoch != tt.epochs || !w.Now.Equal(a.World().Now) {
					t.Errorf("%s: epoch %d now %s, want %d %s", name, w.Epoch, w.Now, tt.epochs, a.World().Now)
				}
				if got, want := w.GroundTruth(), a.World().GroundTruth(); !maps.EqualFunc(got, want, maps.Equal) {
					t.Errorf("%s: ground truth %v, want %v", name, got, want)
				}
				if got, want := worldDigest(w), worldDigest(a.World()); !maps.Equal(got, want) {
					t.Errorf("%s: digest differs from the world started at epoch %d", name, tt.epochs)
				}
			}
			if maps.Equal(worldDigest(a.World()), worldDigest(GenerateInstances(opts.Seed, opts.Scale, opts.Instances))) {
				t.Error("evolved world equals epoch 0")
			}
			for _, in := range opts.Instances {
				for i, q := range evolveQueries {
					ra, rb := post(t, tsA.URL+"/"+in+"/graphql", q, nil, nil), post(t, tsB.URL+"/"+in+"/graphql", q, nil, nil)
					if !bytes.Equal(ra.body, rb.body) || bytes.Contains(ra.body, []byte(`"errors"`)) {
						t.Errorf("%s query %d differs or fails:\n%.400s\n%.400s", in, i, ra.body, rb.body)
					}
				}
			}
		})
	}
}

func TestEvolveEpochZero(t *testing.T) {
	for _, sc := range []Scale{Tiny, Small} {
		t.Run(sc.String(), func(t *testing.T) {
			s, err := New(Options{Seed: 3, Scale: sc, Epoch: 0})
			if err != nil {
				t.Fatal(err)
			}
			w := s.World()
			if w.Epoch != 0 || !w.Now.Equal(worldNow) {
				t.Errorf("epoch %d now %s", w.Epoch, w.Now)
			}
			if got, want := w.GroundTruth(), GroundTruth(3, sc); !maps.EqualFunc(got, want, maps.Equal) {
				t.Errorf("ground truth %v, want %v", got, want)
			}
			if !maps.Equal(worldDigest(w), worldDigest(Generate(3, sc))) {
				t.Error("epoch 0 differs from Generate")
			}
			if w.AdvanceTo(0) != nil || w.Epoch != 0 {
				t.Error("AdvanceTo(0) at epoch 0")
			}
		})
	}
	if _, err := New(Options{Epoch: -1}); err == nil {
		t.Error("negative epoch accepted")
	}
	if _, err := New(Options{Instances: []string{"_admin"}}); err == nil {
		t.Error("instance name _admin accepted")
	}
}

// openVoteStep is the open vote step of an instance at its Now.
func openVoteStep(t testing.TB, in *Instance) *Step {
	t.Helper()
	for _, s := range in.Steps {
		if s.Typename == TSelection && len(s.Proposals) > 0 && stepState(s, in.now) == "OPENED" {
			return s
		}
	}
	t.Fatalf("%s: no open vote step", in.Name)
	return nil
}

func stepVotes(s *Step) map[int64]Vote {
	m := map[int64]Vote{}
	for _, pr := range s.Proposals {
		for _, v := range pr.Votes {
			m[v.ID] = v
		}
	}
	return m
}

// frozenSteps are the steps closed at now whose proposals no open step lists.
func frozenSteps(in *Instance, now time.Time) []*Step {
	open := map[*Proposal]bool{}
	for _, s := range in.Steps {
		if stepState(s, now) == "OPENED" {
			for _, pr := range s.Proposals {
				open[pr] = true
			}
		}
	}
	var out []*Step
	for _, s := range in.Steps {
		if stepState(s, now) != "CLOSED" || s.Typename != TCollect && s.Typename != TSelection {
			continue
		}
		if !slices.ContainsFunc(s.Proposals, func(pr *Proposal) bool { return open[pr] }) {
			out = append(out, s)
		}
	}
	return out
}

const frozenStepQuery = `query($id: ID!, $t: ProposalTrashedStatus) { node(id: $id) { id
	... on CollectStep { state proposals(first: 100, trashedStatus: $t) { totalCount edges { cursor node { ...P } } } }
	... on SelectionStep { state proposals(first: 100, trashedStatus: $t) { totalCount edges { cursor node { ...P } } } } } }
	fragment P on Proposal { id reference title body updatedAt publishedAt trashed trashedStatus trashedAt author { id }
		selections { status { name } } votes(first: 100) { totalCount edges { cursor node { id publishedAt anonymous } } } }`

func TestEvolveChanges(t *testing.T) {
	const epochs = 5
	for _, tt := range []struct {
		scale              Scale
		minRate, maxRate   float64 // new votes / open-step votes over the 5 epochs
		minAdded, maxWithd int
		minTrashed         int // about one per epoch, fewer when few proposals are open
	}{
		{Tiny, 0, 1, epochs, 3 * epochs, 0},
		{Small, 0.025, 0.06, epochs, 3 * epochs, 3},
	} {
		t.Run(tt.scale.String(), func(t *testing.T) {
			names := []string{"gironde", "tarn", "meuse"}
			w0 := GenerateInstances(9, tt.scale, names)
			w5 := GenerateInstances(9, tt.scale, names)
			if err := w5.AdvanceTo(epochs); err != nil {
				t.Fatal(err)
			}
			if want := worldNow.Add(epochs * EpochLength); !w5.Now.Equal(want) {
				t.Fatalf("now %s, want %s", w5.Now, want)
			}
			s0, err := NewFromWorld(w0, Options{})
			if err != nil {
				t.Fatal(err)
			}
			s5, err := NewFromWorld(w5, Options{})
			if err != nil {
				t.Fatal(err)
			}
			h0, h5 := httptest.NewServer(s0.Handler()), httptest.NewServer(s5.Handler())
			defer h0.Close()
			defer h5.Close()
			for _, name := range names {
				in0, in5 := w0.ByName[name], w5.ByName[name]
				gt0, gt5 := in0.GroundTruth(), in5.GroundTruth()

				// votes of the open vote step: about 0.8 % more per epoch, a few withdrawn
				v0, v5 := stepVotes(openVoteStep(t, in0)), stepVotes(openVoteStep(t, in5))
				added, withdrawn := 0, 0
				for id, v := range v5 {
					if _, ok := v0[id]; !ok {
						added++
						if id <= in0.lastVote || v.PublishedAt <= w0.Now.Unix() || v.PublishedAt > w5.Now.Unix() || v.CreatedAt != v.PublishedAt {
							t.Errorf("%s: new vote %+v (last id %d, interval %s–%s)", name, v, in0.lastVote, w0.Now, w5.Now)
						}
					} else if v0[id] != v {
						t.Errorf("%s: vote %d changed: %+v → %+v", name, id, v0[id], v)
					}
				}
				for id := range v0 {
					if _, ok := v5[id]; !ok {
						withdrawn++
					}
				}
				// ids are issued consecutively; a later epoch may withdraw a new vote
				issued := int(in5.lastVote - in0.lastVote)
				lost := withdrawn + issued - added
				rate := float64(issued) / float64(len(v0))
				if issued < tt.minAdded || rate < tt.minRate || rate > tt.maxRate || lost < epochs || lost > tt.maxWithd {
					t.Errorf("%s: %d votes in the open step, %d added (%.2f %%), %d withdrawn", name, len(v0), issued, 100*rate, lost)
				}
				if got, want := gt5["proposal_votes"]-gt0["proposal_votes"], added-withdrawn; got != want {
					t.Errorf("%s: ground truth votes moved by %d, want %d", name, got, want)
				}
				if got, want := in5.VotesTotal-in0.VotesTotal, added-withdrawn; got != want {
					t.Errorf("%s: VotesTotal moved by %d, want %d", name, got, want)
				}
				checkEvolvedInvariants(t, in5)

				// every id of epoch 0 is still there (votes aside)
				for id, rec := range in0.byGlobalID {
					rec5, ok := in5.byGlobalID[id]
					if !ok || typeName(rec5) != typeName(rec) {
						t.Errorf("%s: %s %s gone", name, typeName(rec), id)
					}
				}
				for i, pr := range in0.Proposals {
					if in5.Proposals[i].ID != pr.ID || in5.Proposals[i].CreatedAt != pr.CreatedAt {
						t.Fatalf("%s: proposal %d changed id or creation", name, i)
					}
				}
				for i, u := range in0.Users {
					if in5.Users[i].ID != u.ID {
						t.Fatalf("%s: user %d changed id", name, i)
					}
				}
				newProps := in5.Proposals[len(in0.Proposals):]
				for _, pr := range newProps {
					if pr.Project != in5.evo.project || !pr.Visible() || !pr.CreatedAt.After(w0.Now) || pr.CreatedAt.After(w5.Now) {
						t.Errorf("%s: new proposal %s %s in %s", name, pr.Reference, pr.CreatedAt, pr.Project.Title)
					}
				}
				// epoch 1 project: box 1 closed at epoch 3, box 2 opened at 5, consultation open
				ev := in5.evo
				if ev == nil || !strings.Contains(ev.project.Title, "2025") || len(ev.boxes) != 2 || ev.consult == nil {
					t.Fatalf("%s: evolved project %+v", name, ev)
				}
				if st := stepState(ev.boxes[0], w5.Now); st != "CLOSED" || len(ev.boxes[0].Proposals) < 3 || len(ev.boxes[0].Proposals) > 8 {
					t.Errorf("%s: first box %s with %d proposals", name, st, len(ev.boxes[0].Proposals))
				}
				if st := stepState(ev.boxes[1], w5.Now); st != "OPENED" || len(ev.boxes[1].Proposals) != 0 {
					t.Errorf("%s: second box %s with %d proposals", name, st, len(ev.boxes[1].Proposals))
				}
				if got := gt5["proposals"] - gt0["proposals"]; got != len(newProps) || got < 3 {
					t.Errorf("%s: %d new proposals in the ground truth, %d new records", name, got, len(newProps))
				}
				newContribs := in5.Contribs[len(in0.Contribs):]
				if len(newContribs) < 3*(epochs-1) || gt5["contributions"]-gt0["contributions"] != len(newContribs) {
					t.Errorf("%s: %d new contributions", name, len(newContribs))
				}
				for _, c := range newContribs {
					if c.Project != ev.project || c.Typename == "Argument" && (c.Related == nil || c.Related.Project != ev.project || c.Related.Typename != "Opinion") {
						t.Errorf("%s: new %s %s", name, c.Typename, c.ID)
					}
				}
				if gt5["projects"] != gt0["projects"]+1 || gt5["steps"] != gt0["steps"]+3 || gt5["users"] < gt0["users"]+epochs {
					t.Errorf("%s: ground truth %v → %v", name, gt0, gt5)
				}
				trashed := 0
				for _, pr := range in5.Proposals {
					if pr.Trashed && pr.TrashedAt.After(w0.Now) {
						trashed++
					}
				}
				if trashed < tt.minTrashed || trashed > epochs {
					t.Errorf("%s: %d proposals trashed in 5 epochs", name, trashed)
				}

				// closed phases: byte-identical through the handler
				if n := checkFrozen(t, in0, in5, h0.URL, h5.URL); n < 3 {
					t.Errorf("%s: %d closed steps compared", name, n)
				}
			}
		})
	}
}

// checkFrozen compares, through the handlers, every proposal listing of
// the steps frozen (closed, listing no proposal of an open step) in both
// a and b, an earlier and a later epoch of the same world, and returns how
// many steps it compared.
func checkFrozen(t *testing.T, a, b *Instance, urlA, urlB string) int {
	t.Helper()
	frozenA := map[string]bool{}
	for _, s := range frozenSteps(a, a.now) {
		frozenA[s.ID] = true
	}
	n := 0
	for _, s := range frozenSteps(b, b.now) {
		if !frozenA[s.ID] || !s.Project.Public {
			continue
		}
		n++
		for _, ts := range []string{"NOT_TRASHED", "TRASHED"} {
			vars := map[string]any{"id": s.ID, "t": ts}
			ra := post(t, urlA+"/"+a.Name+"/graphql", frozenStepQuery, vars, nil)
			rb := post(t, urlB+"/"+b.Name+"/graphql", frozenStepQuery, vars, nil)
			if !bytes.Equal(ra.body, rb.body) || !bytes.Contains(ra.body, []byte(`"state":"CLOSED"`)) {
				t.Errorf("%s: closed step %s (%s) changed:\n%.300s\n%.300s", a.Name, s.Title, ts, ra.body, rb.body)
			}
		}
	}
	return n
}

// checkEvolvedInvariants checks the orders and counters the listings rely on.
func checkEvolvedInvariants(t *testing.T, in *Instance) {
	t.Helper()
	total := 0
	perProject := map[*Project]int{}
	for _, pr := range in.Proposals {
		total += len(pr.Votes)
		perProject[pr.Project] += len(pr.Votes)
		for i := 1; i < len(pr.Votes); i++ {
			if !voteBefore(pr.Votes[i-1], pr.Votes[i]) {
				t.Fatalf("%s: votes of %s out of order at %d", in.Name, pr.Reference, i)
			}
		}
	}
	if total != in.VotesTotal {
		t.Errorf("%s: VotesTotal %d, votes %d", in.Name, in.VotesTotal, total)
	}
	for _, p := range in.Projects {
		if p.Public && p.VotesCount != perProject[p] {
			t.Errorf("%s: %s VotesCount %d, votes %d", in.Name, p.Title, p.VotesCount, perProject[p])
		}
		for i := 1; i < len(p.Contributions); i++ {
			if cmpKeys(contribKey(p.Contributions[i-1]), contribKey(p.Contributions[i]), []bool{true}) >= 0 {
				t.Fatalf("%s: contributions of %s out of order", in.Name, p.Title)
			}
		}
	}
}

// pageAll pages a connection at path (under data) with first: 7 and
// returns the node ids and the totalCount.
func pageAll(t *testing.T, url, query string, vars map[string]any, path ...any) ([]string, int) {
	t.Helper()
	var ids []string
	total := -1
	for after := any(nil); ; {
		v := maps.Clone(vars)
		v["after"] = after
		m := post(t, url, query, v, nil).json(t)
		if m["errors"] != nil {
			t.Fatalf("errors %v", m["errors"])
		}
		c := dig(m, append([]any{"data"}, path...)...)
		total = int(dig(c, "totalCount").(float64))
		for _, e := range dig(c, "edges").([]any) {
			ids = append(ids, dig(e, "node", "id").(string))
		}
		if dig(c, "pageInfo", "hasNextPage") != true {
			return ids, total
		}
		after = dig(c, "pageInfo", "endCursor")
		if len(ids) > 100000 {
			t.Fatal("endless paging")
		}
	}
}

func TestEvolveHTTP(t *testing.T) {
	s, ts := testServer(t, Options{Seed: 1, Scale: Small, Instances: []string{"gironde"}})
	url := ts.URL + "/gironde/graphql"
	w := s.World()
	in := w.ByName["gironde"]
	now0, last0 := w.Now, in.lastVote

	t.Run("admin", func(t *testing.T) {
		for _, tt := range []struct {
			method, path string
			code         int
			body         string
		}{
			{"GET", "/_admin/epoch", 200, `{"epoch":0}`},
			{"POST", "/_admin/epoch", 200, `{"epoch":1}`},
			{"GET", "/_admin/epoch", 200, `{"epoch":1}`},
			{"POST", "/_admin/epoch?to=3", 200, `{"epoch":3}`},
			{"POST", "/_admin/epoch?to=3", 200, `{"epoch":3}`},
			{"POST", "/_admin/epoch?to=2", 400, `"epoch":3}`},
			{"POST", "/_admin/epoch?to=x", 400, `"error"`},
			{"POST", "/_admin/epoch?to=-1", 400, `"error"`},
			{"PUT", "/_admin/epoch", 405, `"error"`},
			{"GET", "/_admin/epoch", 200, `{"epoch":3}`},
			{"GET", "/healthz", 200, `"epoch":3}`},
			{"POST", "/_admin/graphql", 404, ""},
		} {
			var code int
			var body string
			switch tt.method {
			case "GET":
				code, body = httpGet(t, ts.URL+tt.path)
			case "POST":
				code, body = adminPost(t, ts.URL+tt.path)
			default:
				req, _ := http.NewRequest(tt.method, ts.URL+tt.path, nil)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				code, body = res.StatusCode, string(b)
			}
			if code != tt.code || !strings.Contains(body, tt.body) {
				t.Errorf("%s %s: %d %s, want %d %s", tt.method, tt.path, code, body, tt.code, tt.body)
			}
		}
		if w.CurrentEpoch() != 3 || !w.Now.Equal(now0.Add(3*EpochLength)) {
			t.Errorf("epoch %d now %s", w.Epoch, w.Now)
		}
	})

	t.Run("votes", func(t *testing.T) {
		// the proposal holding the newest vote shows it first
		var pr *Proposal
		for _, p := range openVoteStep(t, in).Proposals {
			if len(p.Votes) > 0 && p.Votes[0].ID > last0 && (pr == nil || voteBefore(p.Votes[0], pr.Votes[0])) {
				pr = p
			}
		}
		if pr == nil {
			t.Fatal("no proposal got votes")
		}
		q := `query($id: ID!, $after: String, $dir: OrderDirection) { node(id: $id) { ... on Proposal { votes(first: 7, after: $after, orderBy: {field: PUBLISHED_AT, direction: $dir}) {
			totalCount pageInfo { hasNextPage endCursor } edges { node { id publishedAt } } } } } }`
		m := post(t, url, q, map[string]any{"id": pr.ID, "dir": "DESC"}, nil).json(t)
		first := dig(m, "data", "node", "votes", "edges", 0, "node")
		if first == nil || dig(first, "id") != fmt.Sprint(pr.Votes[0].ID) {
			t.Fatalf("first vote %v, want %d", first, pr.Votes[0].ID)
		}
		at, err := time.ParseInLocation(time.DateTime, dig(first, "publishedAt").(string), paris)
		if err != nil || !at.After(now0) {
			t.Errorf("newest vote published at %v (%v), epoch 0 is %s", at, err, now0)
		}
		for _, dir := range []string{"DESC", "ASC"} {
			ids, total := pageAll(t, url, q, map[string]any{"id": pr.ID, "dir": dir}, "node", "votes")
			if len(ids) != total || total != len(pr.Votes) || len(ids) != len(slices.Compact(slices.Sorted(slices.Values(ids)))) {
				t.Errorf("%s: paged %d votes (%d distinct), totalCount %d, %d stored", dir, len(ids), len(slices.Compact(slices.Sorted(slices.Values(ids)))), total, len(pr.Votes))
			}
		}
	})

	t.Run("listings", func(t *testing.T) {
		q := `query($id: ID!, $after: String, $t: ProposalTrashedStatus, $f: ProposalOrderField!) { node(id: $id) {
			... on CollectStep { proposals(first: 7, after: $after, trashedStatus: $t, orderBy: [{field: $f, direction: DESC}]) { ...C } }
			... on SelectionStep { proposals(first: 7, after: $after, trashedStatus: $t, orderBy: [{field: $f, direction: DESC}]) { ...C } } } }
			fragment C on ProposalConnection { totalCount pageInfo { hasNextPage endCursor } edges { node { id } } }`
		steps := []*Step{openVoteStep(t, in), in.evo.boxes[0]}
		trashedSeen := 0
		for _, s := range steps {
			visible, trashed := 0, map[string]bool{}
			for _, pr := range s.Proposals {
				if pr.Visible() {
					visible++
					if pr.Trashed {
						trashed[pr.ID] = true
					}
				}
			}
			seen := 0
			for _, ts := range []string{"NOT_TRASHED", "TRASHED"} {
				for _, f := range []string{"PUBLISHED_AT", "VOTES", "CREATED_AT"} {
					ids, total := pageAll(t, url, q, map[string]any{"id": s.ID, "t": ts, "f": f}, "node", "proposals")
					if len(ids) != total {
						t.Errorf("%s %s %s: paged %d, totalCount %d", s.Title, ts, f, len(ids), total)
					}
					for _, id := range ids {
						if trashed[id] != (ts == "TRASHED") {
							t.Errorf("%s: %s listed as %s", s.Title, id, ts)
						}
					}
					if f == "PUBLISHED_AT" {
						seen += len(ids)
					}
				}
			}
			if seen != visible {
				t.Errorf("%s: listed %d proposals, %d visible", s.Title, seen, visible)
			}
			trashedSeen += len(trashed)
		}
		if trashedSeen == 0 {
			t.Error("no trashed proposal in the open steps after 3 epochs")
		}
		uq := `query($after: String) { users(first: 7, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { id createdAt } } } }`
		ids, total := pageAll(t, url, uq, map[string]any{}, "users")
		if len(ids) != total || total != in.GroundTruth()["users"] {
			t.Errorf("users: paged %d, totalCount %d, ground truth %d", len(ids), total, in.GroundTruth()["users"])
		}
		head := in.Users[len(in.Users)-1]
		if ids[0] != head.ID || !head.CreatedAt.After(now0) {
			t.Errorf("users head %s, want the newest account %s (%s)", ids[0], head.ID, head.CreatedAt)
		}
	})

	t.Run("node", func(t *testing.T) {
		p := in.evo.project
		ids := []string{p.ID, in.evo.consult.ID, in.evo.boxes[0].ID, in.evo.boxes[0].Proposals[0].ID, in.Contribs[len(in.Contribs)-1].ID, in.Users[len(in.Users)-1].ID}
		m := post(t, url, `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, map[string]any{"ids": ids}, nil).json(t)
		for i, id := range ids {
			if dig(m, "data", "nodes", i, "id") != id {
				t.Errorf("node %s: %v", id, dig(m, "data", "nodes", i))
			}
		}
		m = post(t, url, `query($id: ID!) { node(id: $id) { ... on Project { title publishedAt steps { __typename state } } } }`, map[string]any{"id": p.ID}, nil).json(t)
		if got := fmt.Sprint(dig(m, "data", "node")); !strings.Contains(got, "plan climat 2025") ||
			!strings.Contains(got, "map[__typename:CollectStep state:CLOSED] map[__typename:ConsultationStep state:OPENED]") {
			t.Errorf("new project %s", got)
		}
	})
}

// TestEvolveRace advances the world while GraphQL requests run (go test
// -race ./sandbox -run Evolve).
func TestEvolveRace(t *testing.T) {
	s, ts := testServer(t, Options{Seed: 2, Scale: Tiny, Instances: []string{"landes", "correze"}})
	queries := append(slices.Clone(evolveQueries),
		`{ projects(first: 3, orderBy: {field: POPULAR, direction: DESC}) { edges { node { id contributors(first: 5) { totalCount } } } } }`)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan string, 100)
	for i := range 6 {
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				in := []string{"landes", "correze"}[(i+n)%2]
				r := post(t, ts.URL+"/"+in+"/graphql", queries[(i+n)%len(queries)], nil, nil)
				if r.status != 200 || bytes.Contains(r.body, []byte(`"errors"`)) {
					select {
					case errs <- fmt.Sprintf("%d %.200s", r.status, r.body):
					default:
					}
				}
				httpGet(t, ts.URL+"/healthz")
			}
		})
	}
	for i := 1; i <= 8; i++ {
		if code, body := adminPost(t, ts.URL+"/_admin/epoch"); code != 200 || body != fmt.Sprintf(`{"epoch":%d}`, i) {
			t.Errorf("advance %d: %d %s", i, code, body)
		}
		time.Sleep(5 * time.Millisecond)
	}
	s.World().Advance() // directly, not through the handler
	close(stop)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if s.World().CurrentEpoch() != 9 {
		t.Errorf("epoch %d", s.World().CurrentEpoch())
	}
}

// TestEvolveLongRun runs the world past the close of the last vote step
// (epoch 46): votes stop, the vote step's listings freeze, idea boxes keep
// opening and closing, and the orders and counters stay consistent.
func TestEvolveLongRun(t *testing.T) {
	names := []string{"landes", "tarn"}
	w40, w60 := GenerateInstances(4, Tiny, names), GenerateInstances(4, Tiny, names)
	if w40.AdvanceTo(40) != nil || w60.AdvanceTo(60) != nil {
		t.Fatal("advance")
	}
	w50 := GenerateInstances(4, Tiny, names)
	if w50.AdvanceTo(50) != nil {
		t.Fatal("advance")
	}
	servers := map[*World]string{}
	for _, w := range []*World{w40, w50, w60} {
		s, err := NewFromWorld(w, Options{})
		if err != nil {
			t.Fatal(err)
		}
		h := httptest.NewServer(s.Handler())
		defer h.Close()
		servers[w] = h.URL
	}
	for _, name := range names {
		in40, in50, in60 := w40.ByName[name], w50.ByName[name], w60.ByName[name]
		checkEvolvedInvariants(t, in60)
		if got, want := len(in60.evo.boxes), 1+(60-1)/4; got != want {
			t.Errorf("%s: %d idea boxes, want %d", name, got, want)
		}
		for i, b := range in60.evo.boxes {
			if st := stepState(b, w60.Now); st != "CLOSED" && i < len(in60.evo.boxes)-1 {
				t.Errorf("%s: box %d %s", name, i+1, st)
			}
		}
		if in60.lastVote != in50.lastVote {
			t.Errorf("%s: votes issued after the vote step closed: %d → %d", name, in50.lastVote, in60.lastVote)
		}
		if in50.lastVote == in40.lastVote {
			t.Errorf("%s: no vote between epochs 40 and 50", name)
		}
		// the budget vote step was open at 40, closed at 50: frozen from 50 on
		if n := checkFrozen(t, in50, in60, servers[w50], servers[w60]); n < 5 {
			t.Errorf("%s: %d frozen steps compared between epochs 50 and 60", name, n)
		}
		if n40, n50 := len(frozenSteps(in40, w40.Now)), len(frozenSteps(in50, w50.Now)); n50 <= n40 {
			t.Errorf("%s: %d frozen steps at 40, %d at 50", name, n40, n50)
		}
	}
}

// BenchmarkAdvance measures one evolution step of the nine instances (the
// time requests wait behind the write lock).
func BenchmarkAdvance(b *testing.B) {
	for _, sc := range []Scale{Small, Medium} {
		b.Run(sc.String(), func(b *testing.B) {
			w := Generate(1, sc)
			for b.Loop() {
				w.Advance()
			}
		})
	}
}
