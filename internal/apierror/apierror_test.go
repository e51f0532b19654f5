package apierror

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestWrite(t *testing.T) {
	tests := []struct {
		err        *Error
		wantStatus int
		wantBody   string
	}{
		{New(http.StatusNotFound, "unknown_job", "tâche inconnue : %s", "x"), 404, `{"error":{"code":"unknown_job","message":"tâche inconnue : x"}}`},
		{New(http.StatusBadRequest, "sql_error", "requête SQL invalide").WithDetail(`syntax error at or near "SELEC"`), 400,
			`{"error":{"code":"sql_error","message":"requête SQL invalide","detail":"syntax error at or near \"SELEC\""}}`},
		{&Error{Code: "internal", Message: "erreur interne"}, 500, `{"error":{"code":"internal","message":"erreur interne"}}`},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		Write(rec, tt.err)
		if rec.Code != tt.wantStatus || rec.Header().Get("Content-Type") != "application/json; charset=utf-8" {
			t.Errorf("%s: status %d, type %q", tt.err.Code, rec.Code, rec.Header().Get("Content-Type"))
		}
		var got, want any
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		json.Unmarshal([]byte(tt.wantBody), &want)
		gb, _ := json.Marshal(got)
		wb, _ := json.Marshal(want)
		if string(gb) != string(wb) {
			t.Errorf("body %s, want %s", gb, wb)
		}
	}
}
