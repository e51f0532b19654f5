package queries

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestHandlerErrorShape: every error of the query routes is
// {"error":{"code","message","detail"}}: a French message, DuckDB's own
// English words kept in detail only.
func TestHandlerErrorShape(t *testing.T) {
	e, _, _ := openFixture(t, Limits{})
	srv := httptest.NewServer(Handler(e, HandlerOptions{Logger: quietLogger()}))
	defer srv.Close()
	tests := []struct {
		name, method, path, body string
		status                   int
		code, message, detail    string
	}{
		{"syntax", "POST", "/api/sql", `{"sql": "SELEC 1"}`, 400, CodeInvalidSQL, "requête SQL invalide", "syntax error"},
		{"unknown column", "POST", "/api/sql", `{"sql": "SELECT nope FROM proposals"}`, 400, CodeInvalidSQL, "requête SQL invalide", "nope"},
		{"refused", "POST", "/api/sql", `{"sql": "DROP TABLE proposals"}`, 400, CodeRefused, "instruction interdite", ""},
		{"bad body", "POST", "/api/sql", `{"query": 1}`, 400, CodeInvalidParameter, "corps attendu", ""},
		{"unknown query", "GET", "/api/queries/nope", "", 404, CodeUnknownQuery, "", ""},
		{"unknown enum value", "GET", "/api/queries/collectivity_ranking?metric=bogus", "", 400, CodeInvalidParameter, "valeurs acceptées", ""},
		{"bad format", "GET", "/api/queries/collectivity_ranking?_format=xlsx", "", 400, CodeInvalidFormat, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(tt.body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			var body struct {
				Error struct{ Code, Message, Detail string } `json:"error"`
			}
			if err := json.Unmarshal(raw, &body); err != nil {
				t.Fatalf("not JSON: %s", raw)
			}
			got := body.Error
			if resp.StatusCode != tt.status || got.Code != tt.code || got.Message == "" ||
				!strings.Contains(got.Message, tt.message) || !strings.Contains(strings.ToLower(got.Detail), tt.detail) {
				t.Errorf("= %d %s, want %d %s, message with %q, detail with %q", resp.StatusCode, raw, tt.status, tt.code, tt.message, tt.detail)
			}
			if strings.Contains(got.Message, "syntax error") || strings.Contains(got.Message, "Binder Error") {
				t.Errorf("English engine words in the message: %q", got.Message)
			}
		})
	}
}

// TestTableNumbers: the table format prints numbers as the site does;
// CSV keeps raw values.
func TestTableNumbers(t *testing.T) {
	e, _, _ := openFixture(t, Limits{})
	sql := "SELECT 0.27178434744023516::DOUBLE AS rate, 1234567::BIGINT AS votes, 12345.678::DOUBLE AS eur"
	var table, csv strings.Builder
	if err := e.SQL(t.Context(), sql, &table, FormatTable); err != nil {
		t.Fatal(err)
	}
	if err := e.SQL(t.Context(), sql, &csv, FormatCSV); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"0,272", "1\u202f234\u202f567", "12\u202f345,68"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
	if !strings.Contains(csv.String(), "0.27178434744023516,1234567,12345.678") {
		t.Errorf("csv is not raw:\n%s", csv.String())
	}
}
