package ingest_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/capstat/capstat/ingest"
)

// fakeAPI answers every list with an empty connection, except the
// operation scripted by users.
type fakeAPI struct {
	mu      sync.Mutex
	firsts  []int
	headers []http.Header
	users   func(n int, first int, w http.ResponseWriter)
	// usersAfter, when set, answers Users instead, given the after cursor
	// ("" for the first page).
	usersAfter func(after string, w http.ResponseWriter)
	projects   func(locale string) string
	contribs   func(project string) string // ProjectContributions data, nil = empty
	// questions answers QuestionnaireQuestions (nil = no questions).
	questions func() string
	calls     int
}

const emptyConn = `{"totalCount":0,"pageInfo":{"hasNextPage":false,"endCursor":null},"edges":[]}`

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req struct {
		OperationName string         `json:"operationName"`
		Variables     map[string]any `json:"variables"`
	}
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &req); err != nil {
		http.Error(w, "Wrong public query", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.headers = append(f.headers, r.Header.Clone())
	f.mu.Unlock()
	switch req.OperationName {
	case "Projects":
		if f.projects != nil {
			io.WriteString(w, f.projects(r.Header.Get("Accept-Language")))
			return
		}
		fmt.Fprintf(w, `{"data":{"projects":%s}}`, emptyConn)
	case "ProjectEvents":
		fmt.Fprintf(w, `{"data":{"events":%s}}`, emptyConn)
	case "ProjectContributions":
		if f.contribs != nil {
			io.WriteString(w, f.contribs(req.Variables["project"].(string)))
			return
		}
		fmt.Fprintf(w, `{"data":{"node":{"__typename":"Project","contributions":%s}}}`, emptyConn)
	case "QuestionnaireQuestions":
		if f.questions != nil {
			io.WriteString(w, f.questions())
			return
		}
		io.WriteString(w, `{"data":{"node":{"__typename":"Questionnaire","id":"q","questions":[]}}}`)
	case "QuestionnaireReplies":
		fmt.Fprintf(w, `{"data":{"node":{"__typename":"Questionnaire","replies":%s}}}`, emptyConn)
	case "Events":
		fmt.Fprintf(w, `{"data":{"events":%s}}`, emptyConn)
	case "Districts":
		fmt.Fprintf(w, `{"data":{"globalDistricts":%s}}`, emptyConn)
	case "Users":
		if f.usersAfter != nil {
			after, _ := req.Variables["after"].(string)
			f.usersAfter(after, w)
			return
		}
		f.mu.Lock()
		first := int(req.Variables["first"].(float64))
		f.firsts = append(f.firsts, first)
		n := f.calls
		f.calls++
		f.mu.Unlock()
		f.users(n, first, w)
	default:
		http.Error(w, "unexpected operation "+req.OperationName, http.StatusBadRequest)
	}
}

func userPage(ids []string, next string) string {
	var edges []string
	for _, id := range ids {
		edges = append(edges, fmt.Sprintf(`{"node":{"id":%q,"url":"https://x/profile/%s","username":"Zoé \"<b>\" 🎉\nx","createdAt":"2024-03-31 02:30:00","updatedAt":null,"deletedAccountAt":null,"enabled":true,"userType":null}}`, id, id))
	}
	hasNext, end := "false", "null"
	if next != "" {
		hasNext, end = "true", fmt.Sprintf("%q", next)
	}
	return fmt.Sprintf(`{"data":{"users":{"totalCount":2,"pageInfo":{"hasNextPage":%s,"endCursor":%s},"edges":[%s]}}}`, hasNext, end, strings.Join(edges, ","))
}

func runFake(t *testing.T, f *fakeAPI, src ingest.Source) (*ingest.Report, error, string) {
	t.Helper()
	ts := httptest.NewServer(f)
	defer ts.Close()
	path := filepath.Join(t.TempDir(), "fake.duckdb")
	db := openDB(t, path)
	src.Name, src.Endpoint = "fake", ts.URL+"/graphql"
	src.RetryBase, src.RetryMax = time.Millisecond, 5*time.Millisecond
	rep, err := ingest.Ingest(context.Background(), db, []ingest.Source{src}, ingest.Options{})
	var usernames []string
	rs, qerr := db.Query(`SELECT payload->>'username' FROM raw.users ORDER BY id`)
	if qerr != nil {
		t.Fatal(qerr)
	}
	defer rs.Close()
	for rs.Next() {
		var u string
		_ = rs.Scan(&u)
		usernames = append(usernames, u)
	}
	return rep, err, strings.Join(usernames, "|")
}

func TestGatewayErrorHalvesPageThenRestores(t *testing.T) {
	f := &fakeAPI{users: func(n, first int, w http.ResponseWriter) {
		switch n {
		case 0:
			w.WriteHeader(http.StatusBadGateway)
			io.WriteString(w, "<html><body><h1>502 Bad Gateway</h1></body></html>")
		case 1:
			io.WriteString(w, userPage([]string{"u1"}, "c1"))
		default:
			io.WriteString(w, userPage([]string{"u2"}, ""))
		}
	}}
	rep, err, names := runFake(t, f, ingest.Source{PageSize: 40})
	if err != nil {
		t.Fatalf("ingest: %v", err)
	}
	if got := fmt.Sprint(f.firsts); got != "[80 40 80]" {
		t.Errorf("page sizes %s, want [80 40 80]", got)
	}
	if rep.Sources[0].Retries != 1 || !rep.Sources[0].Complete {
		t.Errorf("report: %s", rep)
	}
	if names != "Zoé \"<b>\" 🎉\nx|Zoé \"<b>\" 🎉\nx" {
		t.Errorf("usernames %q", names)
	}
	for _, h := range f.headers {
		if h.Get("Accept") != "application/vnd.cap-collectif.preview+json" {
			t.Errorf("Accept = %q", h.Get("Accept"))
		}
		if _, ok := h["Authorization"]; ok {
			t.Errorf("anonymous request sent Authorization %q", h.Get("Authorization"))
		}
	}
}

func TestRetryAfterAndToken(t *testing.T) {
	f := &fakeAPI{users: func(n, first int, w http.ResponseWriter) {
		if n == 0 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		io.WriteString(w, userPage([]string{"u1", "u2"}, ""))
	}}
	rep, err, _ := runFake(t, f, ingest.Source{Token: "s3cret"})
	if err != nil || rep.Sources[0].Retries != 1 {
		t.Fatalf("ingest: %v\n%s", err, rep)
	}
	for _, h := range f.headers {
		if h.Get("Authorization") != "Bearer s3cret" {
			t.Errorf("Authorization = %q", h.Get("Authorization"))
		}
	}
}

func TestBadInputFailsClearly(t *testing.T) {
	cases := []struct {
		name   string
		status int
		body   string
		want   []string
	}{
		{"html 200", 200, "<!DOCTYPE html><html>Maintenance</html>", []string{"fake", "users", "page 1", "not a JSON object", "Maintenance"}},
		{"malformed json", 200, `{"data":{"users":{"totalCount":`, []string{"users", "page 1", "undecodable"}},
		{"wrong type", 200, `{"data":{"users":{"totalCount":"many","pageInfo":{"hasNextPage":false},"edges":[]}}}`, []string{"users", "page 1", "totalCount"}},
		{"bad date", 200, strings.Replace(userPage([]string{"u1"}, ""), "2024-03-31 02:30:00", "2024-03-31T02:30:00Z", 1), []string{"users", "DateTime"}},
		{"invalid key", 401, "Invalid API Key", []string{"fake", "401", "Invalid API Key", "token"}},
		{"validation error", 200, `{"errors":[{"message":"Cannot query field \"users\" on type \"Query\"."}]}`, []string{"users", "Cannot query field"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeAPI{users: func(n, first int, w http.ResponseWriter) {
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			}}
			rep, err, _ := runFake(t, f, ingest.Source{MaxAttempts: 2})
			if err == nil {
				t.Fatalf("no error; report:\n%s", rep)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			t.Logf("error: %v", err)
			if rep.Sources[0].Complete {
				t.Errorf("a failed run is reported complete")
			}
		})
	}
}

func projectJSON(id string) string {
	return fmt.Sprintf(`{"node":{"id":%q,"title":"T","url":"https://x/p","publishedAt":"2024-01-01 00:00:00","type":null,"themes":[],"authors":[],
"districts":null,"contributions":{"totalCount":0},"votes":{"totalCount":0},"contributors":{"totalCount":0},
"steps":[{"__typename":"PresentationStep","id":"pstep1","title":"Présentation","url":"https://x/s","state":"CLOSED","timeRange":{"startAt":null,"endAt":null}}]}}`, id)
}

func TestLocalesCrawledAndDeduplicated(t *testing.T) {
	f := &fakeAPI{
		users: func(n, first int, w http.ResponseWriter) { io.WriteString(w, userPage(nil, "")) },
		projects: func(locale string) string {
			edges := []string{projectJSON("shared"), projectJSON("only-" + locale)}
			return fmt.Sprintf(`{"data":{"projects":{"totalCount":2,"pageInfo":{"hasNextPage":false,"endCursor":"x"},"edges":[%s]}}}`, strings.Join(edges, ","))
		},
	}
	ts := httptest.NewServer(f)
	defer ts.Close()
	db := openDB(t, filepath.Join(t.TempDir(), "fake.duckdb"))
	src := ingest.Source{Name: "multi", Endpoint: ts.URL + "/graphql", Locales: []string{"fr-FR", "en-GB"}}
	if _, err := ingest.Ingest(context.Background(), db, []ingest.Source{src}, ingest.Options{}); err != nil {
		t.Fatal(err)
	}
	var ids string
	if err := db.QueryRow(`SELECT string_agg(id, ',' ORDER BY id) FROM raw.projects`).Scan(&ids); err != nil {
		t.Fatal(err)
	}
	if ids != "only-en-GB,only-fr-FR,shared" {
		t.Errorf("projects %s", ids)
	}
	var steps, typename string
	if err := db.QueryRow(`SELECT string_agg(id || '/' || project_id, ','), any_value(payload->>'__typename') FROM raw.steps`).Scan(&steps, &typename); err != nil {
		t.Fatal(err)
	}
	if typename != "PresentationStep" {
		t.Errorf("unknown step type not kept: %s %s", steps, typename)
	}
	var locales string
	if err := db.QueryRow(`SELECT array_to_string(locales, ',') FROM raw.sources`).Scan(&locales); err != nil || locales != "fr-FR,en-GB" {
		t.Errorf("raw.sources.locales = %q, %v", locales, err)
	}
}

func TestUnknownStepTypesKept(t *testing.T) {
	steps := `{"__typename":"FutureStep","id":"RnV0dXJlU3RlcDpmMQ==","title":"Futur","url":"https://x/f","state":"OPENED","timeRange":{"startAt":"2024-01-01 00:00:00","endAt":null}},
{"__typename":"SynthesisStep","id":"synth1","title":"Synthèse","url":"https://x/s","state":"CLOSED","timeRange":{"startAt":null,"endAt":null}},`
	f := &fakeAPI{
		users: func(n, first int, w http.ResponseWriter) { io.WriteString(w, userPage(nil, "")) },
		projects: func(string) string {
			p := strings.Replace(projectJSON("UHJvamVjdDpwMQ=="), `"steps":[`, `"steps":[`+steps, 1)
			return `{"data":{"projects":{"totalCount":1,"pageInfo":{"hasNextPage":false,"endCursor":"x"},"edges":[` + p + `]}}}`
		},
	}
	db, _ := ingestRuns(t, f, func() {})
	var got string
	if err := db.QueryRow(`SELECT string_agg(payload->>'__typename' || ':' || (payload->>'id') || ':' || position || ':' || (payload->>'title') || ':' || (payload->>'state') || ':' || coalesce(payload->'timeRange'->>'startAt', '-'), ',' ORDER BY position) FROM raw.steps`).Scan(&got); err != nil {
		t.Fatal(err)
	}
	want := "FutureStep:RnV0dXJlU3RlcDpmMQ==:0:Futur:OPENED:2024-01-01 00:00:00,SynthesisStep:synth1:1:Synthèse:CLOSED:-,PresentationStep:pstep1:2:Présentation:CLOSED:-"
	if got != want {
		t.Errorf("steps\n got %s\nwant %s", got, want)
	}
	var notes string
	if err := db.QueryRow(`SELECT string_agg(path || ' ' || message, '|' ORDER BY path) FROM raw.ingest_errors WHERE operation = 'projects'`).Scan(&notes); err != nil {
		t.Fatal(err)
	}
	if notes != "projects.edges[0].node.steps[0] note: unknown type FutureStep decoded as a generic record|projects.edges[0].node.steps[1] note: unknown type SynthesisStep decoded as a generic record" {
		t.Errorf("notes %q", notes)
	}
}

// usersPage is a users page with an explicit totalCount.
func usersPage(total int, ids []string, next string) string {
	p := userPage(ids, next)
	return strings.Replace(p, `"totalCount":2`, fmt.Sprintf(`"totalCount":%d`, total), 1)
}

func TestPaginationHazards(t *testing.T) {
	cases := []struct {
		name     string
		pages    func(n, first int) string
		wantErr  string // "" = complete
		users    string
		audit    string // fetched/total of the users connection
		note     string
		maxCalls int
	}{
		{
			name: "restart at offset 0 repeats the first cursor",
			pages: func(n, first int) string {
				if n%2 == 0 {
					return usersPage(4, []string{"u1", "u2"}, "YXJyYXljb25uZWN0aW9uOjE=")
				}
				return usersPage(4, []string{"u3"}, "garbage-cursor")
			},
			wantErr: "repeated endCursor", users: "u1|u2|u3", maxCalls: 3,
		},
		{
			name: "same records under new cursors",
			pages: func(n, first int) string {
				return usersPage(4, []string{"u1", "u2"}, fmt.Sprintf("c%d", n))
			},
			wantErr: "already seen", users: "u1|u2", maxCalls: 3,
		},
		{
			name: "hasNextPage false early",
			pages: func(n, first int) string {
				if n == 0 {
					return usersPage(5, []string{"u1", "u2"}, "c1")
				}
				return usersPage(5, []string{"u3"}, "")
			},
			users: "u1|u2|u3", audit: "3/5", note: "note: connection ended (hasNextPage false) after 3 edges, totalCount 5", maxCalls: 2,
		},
		{
			name: "offset shift repeats one page once",
			pages: func(n, first int) string {
				switch n {
				case 0, 1:
					return usersPage(2, []string{"u1"}, fmt.Sprintf("c%d", n+1))
				}
				return usersPage(2, []string{"u2"}, "")
			},
			users: "u1|u2", audit: "3/2", maxCalls: 3,
		},
		{
			name: "server clamps first",
			pages: func(n, first int) string {
				ids := []string{fmt.Sprintf("u%d", n+1)}
				if n == 3 {
					return usersPage(4, ids, "")
				}
				return usersPage(4, ids, fmt.Sprintf("c%d", n+1))
			},
			users: "u1|u2|u3|u4", audit: "4/4", maxCalls: 4,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeAPI{users: func(n, first int, w http.ResponseWriter) {
				if n > 10 {
					http.Error(w, "looping", http.StatusBadRequest)
					return
				}
				io.WriteString(w, tc.pages(n, first))
			}}
			ts := httptest.NewServer(f)
			defer ts.Close()
			db := openDB(t, filepath.Join(t.TempDir(), "fake.duckdb"))
			src := ingest.Source{Name: "fake", Endpoint: ts.URL + "/graphql"}
			rep, err := ingest.Ingest(context.Background(), db, []ingest.Source{src}, ingest.Options{})
			if tc.wantErr == "" && err != nil {
				t.Fatalf("ingest: %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr) || rep.Sources[0].Complete) {
				t.Fatalf("err = %v, want %q and an incomplete run", err, tc.wantErr)
			}
			if f.calls != tc.maxCalls {
				t.Errorf("%d users requests, want %d", f.calls, tc.maxCalls)
			}
			var users string
			if err := db.QueryRow(`SELECT coalesce(string_agg(id, '|' ORDER BY id), '') FROM raw.users`).Scan(&users); err != nil || users != tc.users {
				t.Errorf("users %q, want %q (%v)", users, tc.users, err)
			}
			var audit string
			if err := db.QueryRow(`SELECT coalesce(string_agg(fetched || '/' || total_count, ','), '') FROM raw.ingest_audit WHERE entity = 'users'`).Scan(&audit); err != nil || audit != tc.audit {
				t.Errorf("audit %q, want %q (%v)", audit, tc.audit, err)
			}
			var msgs string
			if err := db.QueryRow(`SELECT coalesce(string_agg(message, '|'), '') FROM raw.ingest_errors WHERE operation = 'users'`).Scan(&msgs); err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.note != "" && msgs != tc.note:
				t.Errorf("ingest_errors %q, want %q", msgs, tc.note)
			case tc.wantErr != "" && !strings.Contains(msgs, tc.wantErr):
				t.Errorf("ingest_errors %q lack %q", msgs, tc.wantErr)
			case tc.wantErr == "" && tc.note == "" && msgs != "":
				t.Errorf("unexpected ingest_errors %q", msgs)
			}
		})
	}
}

func TestErrorShapes(t *testing.T) {
	cases := []struct {
		name   string
		status int
		body   string
		want   []string // "" = success
		calls  int
	}{
		{"php fatal 500 retried", 500, "<html><body>Fatal error: Allowed memory size exhausted</body></html>", nil, 2},
		{"nginx 504 retried", 504, "<html><h1>504 Gateway Time-out</h1></html>", nil, 2},
		{"wrong public query", 400, "Wrong public query", []string{"fake", "users", "400", "Wrong public query", "Users", "not retried"}, 1},
		{"validation error", 200, `{"errors":[{"message":"Cannot query field \"foo\" on type \"User\".","extensions":{"category":"graphql"},"locations":[{"line":3,"column":5}]}]}`, []string{"users", "operation Users", "category graphql", "Cannot query field"}, 1},
		{"public api off", 404, "<html>Not Found</html>", []string{"fake", "404", "public API is disabled", "Users"}, 1},
		{"method not allowed", 405, "", []string{"fake", "405", "POST"}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeAPI{users: func(n, first int, w http.ResponseWriter) {
				if n == 0 {
					w.WriteHeader(tc.status)
					io.WriteString(w, tc.body)
					return
				}
				io.WriteString(w, userPage([]string{"u1", "u2"}, ""))
			}}
			rep, err, names := runFake(t, f, ingest.Source{MaxAttempts: 3, PageSize: 40})
			if tc.want == nil && fmt.Sprint(f.firsts) != "[80 40]" {
				t.Errorf("page sizes %v, want [80 40] (halved after a 500 or 504)", f.firsts)
			}
			if f.calls != tc.calls {
				t.Errorf("%d users requests, want %d", f.calls, tc.calls)
			}
			if tc.want == nil {
				if err != nil || !rep.Sources[0].Complete || rep.Sources[0].Retries != 1 || names == "" {
					t.Fatalf("err = %v, users %q, report:\n%s", err, names, rep)
				}
				return
			}
			if err == nil || rep.Sources[0].Complete {
				t.Fatalf("no error or complete; report:\n%s", rep)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestNullEdgesAndNodesSkipped(t *testing.T) {
	f := &fakeAPI{users: func(n, first int, w http.ResponseWriter) {
		p := userPage([]string{"u1"}, "")
		p = strings.Replace(p, `"edges":[`, `"edges":[null,{"node":null},`, 1)
		p = strings.Replace(p, `"totalCount":2`, `"totalCount":3`, 1)
		io.WriteString(w, strings.Replace(p, `}}}`, `}},"extensions":{"warnings":[{"message":"deprecated field"}]}}`, 1))
	}}
	db, _ := ingestRuns(t, f, func() {})
	var ids, audit string
	if err := db.QueryRow(`SELECT string_agg(id, ',') FROM raw.users`).Scan(&ids); err != nil || ids != "u1" {
		t.Errorf("users %q (%v)", ids, err)
	}
	if err := db.QueryRow(`SELECT fetched || '/' || total_count FROM raw.ingest_audit WHERE entity = 'users'`).Scan(&audit); err != nil || audit != "3/3" {
		t.Errorf("audit %q (%v)", audit, err)
	}
}

func TestRawStepIDsDoNotCollide(t *testing.T) {
	f := &fakeAPI{
		users: func(n, first int, w http.ResponseWriter) { io.WriteString(w, userPage(nil, "")) },
		projects: func(string) string {
			p2 := strings.Replace(projectJSON("UHJvamVjdDpwMg=="), `"steps":[`, `"steps":[{"__typename":"OtherStep","id":"T3RoZXJTdGVwOm8x","title":"O","url":"u","state":"OPENED","timeRange":{"startAt":null,"endAt":null}},`, 1)
			return `{"data":{"projects":{"totalCount":2,"pageInfo":{"hasNextPage":false,"endCursor":"x"},"edges":[` + projectJSON("UHJvamVjdDpwMQ==") + "," + p2 + `]}}}`
		},
	}
	db, _ := ingestRuns(t, f, func() {})
	var got string
	if err := db.QueryRow(`SELECT string_agg(id || ' ' || project_id || ' ' || position || ' ' || (payload->>'id'), ',' ORDER BY id) FROM raw.steps`).Scan(&got); err != nil {
		t.Fatal(err)
	}
	want := "T3RoZXJTdGVwOm8x UHJvamVjdDpwMg== 0 T3RoZXJTdGVwOm8x,UHJvamVjdDpwMQ==/pstep1 UHJvamVjdDpwMQ== 0 pstep1,UHJvamVjdDpwMg==/pstep1 UHJvamVjdDpwMg== 1 pstep1"
	if got != want {
		t.Errorf("steps\n got %s\nwant %s", got, want)
	}
}

func TestUnknownContributionsAndNodes(t *testing.T) {
	f := &fakeAPI{
		users: func(n, first int, w http.ResponseWriter) { io.WriteString(w, userPage(nil, "")) },
		projects: func(string) string {
			return `{"data":{"projects":{"totalCount":2,"pageInfo":{"hasNextPage":false,"endCursor":"x"},"edges":[` + projectJSON("UHJvamVjdDpwMQ==") + "," + projectJSON("UHJvamVjdDpwMg==") + `]}}}`
		},
		contribs: func(project string) string {
			if project == "UHJvamVjdDpwMg==" {
				return `{"data":{"node":{"__typename":"Hologram"}}}`
			}
			return `{"data":{"node":{"__typename":"Project","contributions":{"totalCount":4,"pageInfo":{"hasNextPage":false,"endCursor":null},"edges":[
{"node":{"__typename":"Comment","id":"Q29tbWVudDox","url":"u"}},null,
{"node":{"__typename":"Opinion","id":"T3BpbmlvbjpvMQ==","url":"u","createdAt":"2024-01-01 00:00:00","updatedAt":null,"published":true,"publishedAt":null,"title":"t"}},
{"node":{"__typename":"Argument","id":"QXJndW1lbnQ6YTE=","url":"u","createdAt":"2024-01-01 00:00:00","updatedAt":null,"published":true,"publishedAt":null,"trashed":false,"trashedStatus":null,"type":"FOR","related":{"__typename":"Petition","id":"UGV0aXRpb246MQ=="}}}]}}},
"errors":[{"message":"Internal server Error","extensions":{"category":"internal"},"path":["node","contributions","edges",1]}]}`
		},
	}
	db, reps := ingestRuns(t, f, func() {})
	// The summary says the run is complete with one refused item, explains
	// it (API.md §9.3) and counts capstat's notes apart.
	sr := reps[0].Sources[0]
	if sr.RefusedCount() != 1 || sr.Refused[0].Task != "contributions" || sr.Refused[0].Known == "" || sr.Notes != 3 {
		t.Errorf("refused %+v, notes %d; want 1 known contributions refusal and 3 notes", sr.Refused, sr.Notes)
	}
	for _, want := range []string{"fake run 1 (full): complete, with 1 item the API refused", `refused      1 × contributions: "Internal server Error" (known: proposals listed in Project.contributions`, "notes        3"} {
		if !strings.Contains(reps[0].String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, reps[0])
		}
	}
	var got string
	if err := db.QueryRow(`SELECT string_agg(payload->>'__typename' || ' ' || coalesce(payload->'related'->>'__typename', '-'), ',' ORDER BY id) FROM raw.contributions`).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != "Argument Petition,Opinion -" {
		t.Errorf("contributions %q", got)
	}
	var notes string
	if err := db.QueryRow(`SELECT string_agg(operation || ' ' || path || ' ' || message, '|' ORDER BY operation, path) FROM raw.ingest_errors WHERE operation LIKE 'contributions/%'`).Scan(&notes); err != nil {
		t.Fatal(err)
	}
	want := "contributions/UHJvamVjdDpwMQ== node.contributions.edges[0].node note: unknown type Comment decoded as a generic record|" +
		"contributions/UHJvamVjdDpwMQ== node.contributions.edges[1] Internal server Error|" +
		"contributions/UHJvamVjdDpwMQ== node.contributions.edges[3].node.related note: unknown type Petition decoded as a generic record|" +
		"contributions/UHJvamVjdDpwMg== node note: unknown type Hologram decoded as a generic record"
	if notes != want {
		t.Errorf("ingest_errors\n%s\nwant\n%s", strings.ReplaceAll(notes, "|", "\n"), strings.ReplaceAll(want, "|", "\n"))
	}
}

// TestTruncatedProjectDistrictsNoted: Project.districts is read in one page
// of 100; a project that links more gets a note saying how many were read.
func TestTruncatedProjectDistrictsNoted(t *testing.T) {
	var edges []string
	for i := range 100 {
		edges = append(edges, fmt.Sprintf(`{"node":{"id":"RGlzdHJpY3Q6ZCVk%d"}}`, i))
	}
	many := fmt.Sprintf(`"districts":{"totalCount":140,"edges":[%s]}`, strings.Join(edges, ","))
	few := `"districts":{"totalCount":2,"edges":[{"node":{"id":"RGlzdHJpY3Q6YQ=="}},{"node":{"id":"RGlzdHJpY3Q6Yg=="}}]}`
	f := &fakeAPI{
		users: func(n, first int, w http.ResponseWriter) { io.WriteString(w, userPage(nil, "")) },
		projects: func(string) string {
			p1 := strings.Replace(projectJSON("UHJvamVjdDpwMQ=="), `"districts":null`, few, 1)
			p2 := strings.Replace(projectJSON("UHJvamVjdDpwMg=="), `"districts":null`, many, 1)
			return `{"data":{"projects":{"totalCount":2,"pageInfo":{"hasNextPage":false,"endCursor":"x"},"edges":[` + p1 + "," + p2 + `]}}}`
		},
	}
	db, _ := ingestRuns(t, f, func() {})
	var notes string
	if err := db.QueryRow(`SELECT string_agg(path || ' ' || message, '|' ORDER BY path) FROM raw.ingest_errors WHERE operation = 'projects'`).Scan(&notes); err != nil {
		t.Fatal(err)
	}
	if want := "projects.edges[1].node.districts note: project links 140 districts, only the first 100 were read"; notes != want {
		t.Errorf("notes %q, want %q", notes, want)
	}
	var linked int
	if err := db.QueryRow(`SELECT json_array_length(payload->'districts'->'edges') FROM raw.projects WHERE id = 'UHJvamVjdDpwMg=='`).Scan(&linked); err != nil || linked != 100 {
		t.Errorf("stored district links = %d (%v), want 100", linked, err)
	}
}

// ingestRuns crawls the fake API into one database, once per element of
// runs (each sets the fake's answers for its run), and returns the
// database and the reports.
func ingestRuns(t *testing.T, f *fakeAPI, runs ...func()) (*sql.DB, []*ingest.Report) {
	t.Helper()
	ts := httptest.NewServer(f)
	t.Cleanup(ts.Close)
	db := openDB(t, filepath.Join(t.TempDir(), "fake.duckdb"))
	src := ingest.Source{Name: "fake", Endpoint: ts.URL + "/graphql", MaxAttempts: 3, RetryBase: time.Millisecond, RetryMax: 2 * time.Millisecond}
	var reps []*ingest.Report
	for i, setup := range runs {
		setup()
		// Full sweeps: these tests are about what a full sweep infers
		// (refresh_test.go covers incremental runs).
		rep, err := ingest.Ingest(context.Background(), db, []ingest.Source{src}, ingest.Options{Full: true})
		if err != nil || !rep.Sources[0].Complete {
			t.Fatalf("run %d: %v\n%s", i+1, err, rep)
		}
		reps = append(reps, rep)
	}
	return db, reps
}

// liveIDs lists the ids of table not marked deleted.
func liveIDs(t *testing.T, db *sql.DB, table string) string {
	t.Helper()
	var ids sql.NullString
	if err := db.QueryRow(`SELECT string_agg(id, ',' ORDER BY id) FROM raw.` + table + ` WHERE deleted_run IS NULL`).Scan(&ids); err != nil {
		t.Fatal(err)
	}
	return ids.String
}

func shortReads(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM raw.ingest_errors WHERE starts_with(message, 'note: short read: ')`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestNulledEdgesAreRetriedThenNeverDeleted: edges nulled by an error
// (API.md §8) are asked again; if they stay hidden, the run completes but
// infers no deletion, so a hidden user is not taken for a deleted one.
func TestNulledEdgesAreRetriedThenNeverDeleted(t *testing.T) {
	var mu sync.Mutex
	nulledAnswers, calls := 0, 0
	f := &fakeAPI{users: func(n, first int, w http.ResponseWriter) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		p := strings.Replace(userPage([]string{"u1", "u2", "u3"}, ""), `"totalCount":2`, `"totalCount":3`, 1)
		if nulledAnswers != 0 {
			// u2's edge nulled by an error in one of its fields.
			nulledAnswers--
			p = strings.Replace(userPage([]string{"u1", "u3"}, ""), `{"node":{"id":"u3"`, `null,{"node":{"id":"u3"`, 1)
			p = strings.Replace(p, `"totalCount":2`, `"totalCount":3`, 1)
			p = strings.TrimSuffix(p, "}") + `,"errors":[{"message":"Internal server Error","path":["users","edges",1,"node","userType"],"extensions":{"category":"internal"}}]}`
		}
		io.WriteString(w, p)
	}}
	set := func(nulled int) func() {
		return func() { mu.Lock(); nulledAnswers, calls = nulled, 0; mu.Unlock() }
	}
	db, _ := ingestRuns(t, f,
		set(0),  // u1, u2, u3
		set(1),  // nulled once: the retry reads every user
		set(-1), // nulled on every attempt: a short read
	)
	if got := liveIDs(t, db, "users"); got != "u1,u2,u3" {
		t.Errorf("users after a short read = %q, want all three kept", got)
	}
	if n := shortReads(t, db); n != 1 {
		t.Errorf("%d short reads recorded, want 1 (the third run's)", n)
	}
	mu.Lock()
	if calls != 3 {
		t.Errorf("%d requests in the third run, want 3 (MaxAttempts)", calls)
	}
	mu.Unlock()
	var msg string
	if err := db.QueryRow(`SELECT message FROM raw.ingest_runs ORDER BY run_id DESC LIMIT 1`).Scan(&msg); err != nil || !strings.Contains(msg, "deletions not inferred: 1 lists read short") {
		t.Errorf("last run message %q (%v)", msg, err)
	}
}

// TestNulledNodeIsRetriedThenNeverDeleted: a node(id) nulled by an error
// (here a project's contributions) is not an empty list: its contributions
// stay, and a later clean run infers deletions again.
func TestNulledNodeIsRetriedThenNeverDeleted(t *testing.T) {
	opinion := func(id string) string {
		return fmt.Sprintf(`{"node":{"__typename":"Opinion","id":%q,"title":"O","url":"https://x/o","createdAt":"2024-01-01 00:00:00","publishedAt":null,"updatedAt":null,"trashed":false,"author":null,"section":null,"votes":{"totalCount":0},"arguments":{"totalCount":0},"sources":{"totalCount":0},"versions":{"totalCount":0}}}`, id)
	}
	var mode string
	f := &fakeAPI{
		users: func(n, first int, w http.ResponseWriter) { io.WriteString(w, userPage(nil, "")) },
		projects: func(string) string {
			return `{"data":{"projects":{"totalCount":1,"pageInfo":{"hasNextPage":false,"endCursor":"x"},"edges":[` + projectJSON("UHJvamVjdDpwMQ==") + `]}}}`
		},
		contribs: func(string) string {
			switch mode {
			case "nulled":
				return `{"data":{"node":null},"errors":[{"message":"Internal server Error","path":["node","contributions"],"extensions":{"category":"internal"}}]}`
			case "one":
				return `{"data":{"node":{"__typename":"Project","contributions":{"totalCount":1,"pageInfo":{"hasNextPage":false,"endCursor":"c"},"edges":[` + opinion("o1") + `]}}}}`
			}
			return `{"data":{"node":{"__typename":"Project","contributions":{"totalCount":2,"pageInfo":{"hasNextPage":false,"endCursor":"c"},"edges":[` + opinion("o1") + "," + opinion("o2") + `]}}}}`
		},
	}
	db, _ := ingestRuns(t, f, func() { mode = "two" }, func() { mode = "nulled" })
	if got := liveIDs(t, db, "contributions"); got != "o1,o2" {
		t.Errorf("contributions after a nulled node = %q, want both kept", got)
	}
	if n := shortReads(t, db); n != 1 {
		t.Errorf("%d short reads, want 1", n)
	}
	db2, _ := ingestRuns(t, f, func() { mode = "two" }, func() { mode = "one" })
	if got := liveIDs(t, db2, "contributions"); got != "o1" {
		t.Errorf("contributions after a clean run without o2 = %q, want o1", got)
	}
}

// TestListEndingEarlyIsReadOn: an Elasticsearch list whose hasNextPage
// turns false early (rows deleted in MySQL shorten pages, API.md §4) is
// asked again after its last cursor; what comes is read, and when nothing
// does the shortfall is the deleted rows.
func TestListEndingEarlyIsReadOn(t *testing.T) {
	page := func(ids []string, end string) string {
		p := strings.Replace(userPage(ids, ""), `"totalCount":2`, `"totalCount":3`, 1)
		if end != "" {
			p = strings.Replace(p, `"endCursor":null`, fmt.Sprintf(`"endCursor":%q`, end), 1)
		}
		return p
	}
	var tail []string
	var asked []string
	var mu sync.Mutex
	f := &fakeAPI{usersAfter: func(after string, w http.ResponseWriter) {
		mu.Lock()
		asked = append(asked, after)
		mu.Unlock()
		switch after {
		case "":
			io.WriteString(w, page([]string{"u1"}, "c1")) // hasNextPage false, 1 of 3
		case "c1":
			io.WriteString(w, page(tail, map[bool]string{true: "c3"}[len(tail) > 0]))
		default:
			io.WriteString(w, page(nil, ""))
		}
	}}
	db, _ := ingestRuns(t, f, func() { tail = []string{"u2", "u3"} })
	if got := liveIDs(t, db, "users"); got != "u1,u2,u3" {
		t.Errorf("users = %q, want the tail after the early end read too", got)
	}
	var audit string
	if err := db.QueryRow(`SELECT fetched || '/' || total_count FROM raw.ingest_audit WHERE entity = 'users'`).Scan(&audit); err != nil || audit != "3/3" {
		t.Errorf("audit %q (%v)", audit, err)
	}
	// Next run: nothing after c1 (u2 and u3 were deleted in the database
	// but are still counted by the index): they are deleted here too.
	asked = nil
	db2, _ := ingestRuns(t, f, func() { tail = []string{"u2", "u3"} }, func() { tail = nil; asked = nil })
	if got := liveIDs(t, db2, "users"); got != "u1" {
		t.Errorf("users = %q, want u1 (the others deleted)", got)
	}
	if strings.Join(asked, ",") != ",c1" {
		t.Errorf("cursors asked %q, want the first page then one read after c1", asked)
	}
}

// TestTruncatedChoicesNoted: a multiple-choice question's choices are read
// in one page of 100; a question with more gets a note.
func TestTruncatedChoicesNoted(t *testing.T) {
	var choices []string
	for i := range 100 {
		choices = append(choices, fmt.Sprintf(`{"node":{"id":"c%d","title":"Choix %d"}}`, i, i))
	}
	step := `{"__typename":"QuestionnaireStep","id":"UXVlc3Rpb25uYWlyZVN0ZXA6cTE=","title":"Q","url":"https://x/q","state":"OPENED","timeRange":{"startAt":null,"endAt":null},"questionnaire":{"id":"UXVlc3Rpb25uYWlyZTpxMQ==","title":"Q"}},`
	f := &fakeAPI{
		users: func(n, first int, w http.ResponseWriter) { io.WriteString(w, userPage(nil, "")) },
		projects: func(string) string {
			p := strings.Replace(projectJSON("UHJvamVjdDpwMQ=="), `"steps":[`, `"steps":[`+step, 1)
			return `{"data":{"projects":{"totalCount":1,"pageInfo":{"hasNextPage":false,"endCursor":"x"},"edges":[` + p + `]}}}`
		},
		questions: func() string {
			return `{"data":{"node":{"__typename":"Questionnaire","id":"UXVlc3Rpb25uYWlyZTpxMQ==","questions":[` +
				`{"__typename":"SimpleQuestion","id":"UXVlc3Rpb246MQ==","title":"Nom"},` +
				`{"__typename":"MultipleChoiceQuestion","id":"UXVlc3Rpb246Mg==","title":"Quartier","choices":{"totalCount":120,"edges":[` + strings.Join(choices, ",") + `]}}]}}}`
		},
	}
	db, _ := ingestRuns(t, f, func() {})
	var notes string
	if err := db.QueryRow(`SELECT string_agg(path || ' ' || message, '|' ORDER BY path) FROM raw.ingest_errors WHERE starts_with(path, 'node.questions')`).Scan(&notes); err != nil {
		t.Fatal(err)
	}
	if want := "node.questions[1].choices note: question UXVlc3Rpb246Mg== has 120 choices, only the first 100 were read"; notes != want {
		t.Errorf("notes %q, want %q", notes, want)
	}
	if got := liveIDs(t, db, "questions"); got != "UXVlc3Rpb246MQ==,UXVlc3Rpb246Mg==" {
		t.Errorf("questions %q", got)
	}
}
