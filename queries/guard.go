package queries

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/duckdb/duckdb-go/v2"
)

// deniedFunctionPrefixes and deniedFunctions are functions that read files,
// settings or the database's internals, or run SQL given as a string.
// External access is disabled anyway; this is a second, explicit layer.
var deniedFunctionPrefixes = []string{
	"read_", "duckdb_", "pragma_", "parquet_", "sqlite_", "postgres_", "mysql_",
	"iceberg_", "delta_", "json_execute", "test_", "enable_", "disable_",
}

// deniedScalarFunctions build huge values from small arguments. DuckDB
// allocates such strings and lists outside its memory limit and does not
// check for interrupts while building one, so a single call such as
// len(range(100000000 + i)) per row can hold the engine for minutes and take
// gigabytes (measured). The table functions range and generate_series, which
// produce rows in chunks, stay allowed.
var deniedScalarFunctions = map[string]bool{
	"repeat": true, "lpad": true, "rpad": true, "printf": true, "format": true, "range": true,
	"generate_series": true, "list_resize": true, "array_resize": true, "bar": true,
}

var deniedFunctions = map[string]bool{
	"current_setting": true, "getenv": true, "glob": true, "query": true, "query_table": true,
	"sniff_csv": true, "which_secret": true, "checkpoint": true, "force_checkpoint": true,
	"sql_auto_complete": true, "getvariable": true, "list_files": true, "load_extension": true,
	"install_extension": true, "current_database": false,
}

// allowedTableFunctions are the only table functions ad-hoc SQL may call
// (generators and JSON/list unnesting). Every other one reads files,
// settings or internals, runs SQL given as text, or takes raw pointers
// (arrow_scan).
var allowedTableFunctions = map[string]bool{
	"range": true, "generate_series": true, "unnest": true, "json_each": true, "json_tree": true,
	"repeat": true, "repeat_row": true, "pg_timezone_names": true, "icu_calendar_names": true,
}

// allowedInformationSchema are the metadata views a journalist may read.
var allowedInformationSchema = map[string]bool{"tables": true, "columns": true, "schemata": true, "views": true}

func functionDenied(name string) bool {
	n := strings.ToLower(name)
	if deniedFunctions[n] {
		return true
	}
	for _, p := range deniedFunctionPrefixes {
		if strings.HasPrefix(n, p) {
			return true
		}
	}
	return false
}

// check refuses anything but one read-only statement on the snapshot's
// tables, in two steps that both rely on DuckDB's own parser:
//
//  1. json_serialize_sql parses the text (it binds and evaluates nothing)
//     and gives the syntax tree: exactly one SELECT statement (after a
//     leading EXPLAIN, if any), whose table functions, functions and tables
//     are then checked. This comes first because preparing a statement
//     already folds constants, which can be made arbitrarily expensive.
//  2. Prepare (without a context, so that several statements are refused
//     without any being run) confirms the count and gives the statement
//     type: SELECT or EXPLAIN only, and no bind parameters.
//
// For a plain query (not EXPLAIN, DESCRIBE, SHOW or SUMMARIZE) it returns
// the syntax tree as JSON (wrapJSON), so that the caller can run the checked
// tree itself under a row limit (see queryLimited); otherwise wrapJSON is "".
func (s *snapshot) check(ctx context.Context, c *sql.Conn, sqlText string) (wrapJSON string, err error) {
	if !utf8.ValidString(sqlText) {
		return "", errorf(CodeRefused, "la requête n'est pas du texte UTF-8 valide")
	}
	if strings.ContainsRune(sqlText, 0) {
		return "", errorf(CodeRefused, "caractère nul interdit dans la requête")
	}
	inner, explain := stripExplain(sqlText)
	if !explain {
		inner = sqlText
	}
	var js string
	if err := c.QueryRowContext(ctx, "SELECT json_serialize_sql($1::VARCHAR)::VARCHAR", inner).Scan(&js); err != nil {
		return "", s.classify(ctx, err)
	}
	var tree struct {
		Error        bool   `json:"error"`
		ErrorType    string `json:"error_type"`
		ErrorMessage string `json:"error_message"`
		Statements   []any  `json:"statements"`
	}
	if err := json.Unmarshal([]byte(js), &tree); err != nil {
		return "", fmt.Errorf("check sql: decode syntax tree: %w", err)
	}
	if tree.Error {
		if tree.ErrorType == "parser" || strings.HasPrefix(tree.ErrorMessage, "Parser Error") {
			return "", &Error{Code: CodeInvalidSQL, Message: "requête SQL invalide : erreur de syntaxe (le détail donne le message de DuckDB)", Detail: s.redact(tree.ErrorMessage)}
		}
		return "", errorf(CodeRefused, "instruction interdite : seules SELECT, WITH, DESCRIBE, SHOW et EXPLAIN sont acceptées, une seule par requête")
	}
	switch len(tree.Statements) {
	case 0:
		return "", errorf(CodeInvalidSQL, "requête SQL vide")
	case 1:
	default:
		return "", errorf(CodeRefused, "une seule instruction SQL par requête")
	}
	w := &treeWalker{ctes: map[string]bool{}}
	w.collectCTEs(tree.Statements[0])
	w.walk(tree.Statements[0])
	for _, f := range w.tableFunctions {
		if !allowedTableFunctions[strings.ToLower(f)] {
			return "", errorf(CodeRefused, "fonction de table %s interdite (autorisées : %s)", f, strings.Join(sortedKeys(allowedTableFunctions), ", "))
		}
	}
	for _, f := range w.functions {
		if functionDenied(f) {
			return "", errorf(CodeRefused, "fonction %s interdite", f)
		}
		if deniedScalarFunctions[strings.ToLower(f)] {
			return "", errorf(CodeRefused, "fonction %s interdite en SQL libre (elle peut fabriquer des valeurs démesurées)", f)
		}
	}
	for _, t := range w.tables {
		if !s.tableAllowed(t, w.ctes) {
			return "", errorf(CodeRefused, "table %q inconnue ou interdite ; tables disponibles : %s", t.String(), strings.Join(sortedKeys(s.tables), ", "))
		}
	}
	for _, name := range w.shows {
		n := strings.ToLower(strings.Trim(name, `"`))
		if n != "" && n != "tables" && !s.tables[n] {
			return "", errorf(CodeRefused, "SHOW %s interdit", name)
		}
	}

	var stype duckdb.StmtType
	err = c.Raw(func(dc any) error {
		conn, ok := dc.(*duckdb.Conn)
		if !ok {
			return fmt.Errorf("unexpected driver connection %T", dc)
		}
		st, err := conn.Prepare(sqlText) // no context: never executes a leading statement
		if err != nil {
			return err
		}
		defer st.Close()
		ds, ok := st.(*duckdb.Stmt)
		if !ok {
			return fmt.Errorf("unexpected driver statement %T", st)
		}
		if ds.NumInput() > 0 {
			return errorf(CodeRefused, "les paramètres ($1, ?, $nom) ne sont pas acceptés en SQL libre : écrivez les valeurs")
		}
		stype, err = ds.StatementType()
		return err
	})
	if err != nil {
		if strings.Contains(err.Error(), "multi-statement") {
			return "", errorf(CodeRefused, "une seule instruction SQL par requête")
		}
		return "", s.classify(ctx, err)
	}
	switch {
	case stype == duckdb.STATEMENT_TYPE_SELECT && !explain:
	case stype == duckdb.STATEMENT_TYPE_EXPLAIN && explain:
	default:
		return "", errorf(CodeRefused, "instruction %s interdite : seules SELECT, WITH, DESCRIBE, SHOW et EXPLAIN sont acceptées", stmtTypeName(stype))
	}
	return wrappableTree(stype, tree.Statements[0], js), nil
}

// wrappableTree returns js when the statement is a plain query that can be
// wrapped as a subquery, else "".
func wrappableTree(stype duckdb.StmtType, stmt any, js string) string {
	if stype != duckdb.STATEMENT_TYPE_SELECT {
		return ""
	}
	m, _ := stmt.(map[string]any)
	node, _ := m["node"].(map[string]any)
	switch node["type"] {
	case "SELECT_NODE":
		if from, ok := node["from_table"].(map[string]any); ok && from["type"] == "SHOW_REF" {
			return ""
		}
		return js
	case "SET_OPERATION_NODE", "RECURSIVE_CTE_NODE", "CTE_NODE":
		return js
	}
	return ""
}

type tableRef struct{ catalog, schema, name string }

func (t tableRef) String() string {
	parts := []string{}
	for _, p := range []string{t.catalog, t.schema, t.name} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, ".")
}

func (s *snapshot) tableAllowed(t tableRef, ctes map[string]bool) bool {
	cat, sch, name := strings.ToLower(t.catalog), strings.ToLower(t.schema), strings.ToLower(t.name)
	if cat != "" && cat != snapshotCatalog {
		return false
	}
	switch sch {
	case "":
		return s.tables[name] || (cat == "" && ctes[name])
	case "main", "data":
		return s.tables[name]
	case "information_schema":
		return allowedInformationSchema[name]
	}
	return false
}

type treeWalker struct {
	functions      []string
	tableFunctions []string
	tables         []tableRef
	shows          []string
	ctes           map[string]bool
}

func (w *treeWalker) collectCTEs(n any) {
	switch v := n.(type) {
	case map[string]any:
		if cm, ok := v["cte_map"].(map[string]any); ok {
			if entries, ok := cm["map"].([]any); ok {
				for _, e := range entries {
					if em, ok := e.(map[string]any); ok {
						if k, ok := em["key"].(string); ok {
							w.ctes[strings.ToLower(k)] = true
						}
					}
				}
			}
		}
		for _, c := range v {
			w.collectCTEs(c)
		}
	case []any:
		for _, c := range v {
			w.collectCTEs(c)
		}
	}
}

func (w *treeWalker) walk(n any) {
	switch v := n.(type) {
	case map[string]any:
		if v["type"] == "TABLE_FUNCTION" {
			// The table function itself is checked against the allowlist;
			// its arguments and the rest of the node are walked as usual.
			fn, _ := v["function"].(map[string]any)
			name, _ := fn["function_name"].(string)
			w.tableFunctions = append(w.tableFunctions, name)
			for k, c := range v {
				if k != "function" {
					w.walk(c)
				}
			}
			for k, c := range fn {
				if k != "function_name" {
					w.walk(c)
				}
			}
			return
		}
		if f, ok := v["function_name"].(string); ok {
			w.functions = append(w.functions, f)
		}
		switch v["type"] {
		case "BASE_TABLE":
			str := func(k string) string { s, _ := v[k].(string); return s }
			w.tables = append(w.tables, tableRef{catalog: str("catalog_name"), schema: str("schema_name"), name: str("table_name")})
		case "SHOW_REF":
			if tn, ok := v["table_name"].(string); ok {
				w.shows = append(w.shows, tn)
			}
		}
		for _, c := range v {
			w.walk(c)
		}
	case []any:
		for _, c := range v {
			w.walk(c)
		}
	}
}

// stripExplain removes a leading EXPLAIN [ANALYZE] (after whitespace and
// comments) so that the explained statement can be checked.
func stripExplain(sqlText string) (string, bool) {
	rest := skipSpaceAndComments(sqlText)
	kw, rest := leadingWord(rest)
	if !strings.EqualFold(kw, "EXPLAIN") {
		return "", false
	}
	rest = skipSpaceAndComments(rest)
	if kw2, r2 := leadingWord(rest); strings.EqualFold(kw2, "ANALYZE") || strings.EqualFold(kw2, "ANALYSE") {
		rest = r2
	}
	return rest, true
}

func skipSpaceAndComments(s string) string {
	for {
		s = strings.TrimLeftFunc(s, unicode.IsSpace)
		switch {
		case strings.HasPrefix(s, "--"):
			i := strings.IndexByte(s, '\n')
			if i < 0 {
				return ""
			}
			s = s[i+1:]
		case strings.HasPrefix(s, "/*"):
			i := strings.Index(s[2:], "*/")
			if i < 0 {
				return ""
			}
			s = s[2+i+2:]
		default:
			return s
		}
	}
}

func leadingWord(s string) (string, string) {
	i := strings.IndexFunc(s, func(r rune) bool { return !unicode.IsLetter(r) })
	if i < 0 {
		return s, ""
	}
	return s[:i], s[i:]
}

func stmtTypeName(t duckdb.StmtType) string {
	names := map[duckdb.StmtType]string{
		duckdb.STATEMENT_TYPE_INSERT: "INSERT", duckdb.STATEMENT_TYPE_UPDATE: "UPDATE", duckdb.STATEMENT_TYPE_DELETE: "DELETE",
		duckdb.STATEMENT_TYPE_PREPARE: "PREPARE", duckdb.STATEMENT_TYPE_CREATE: "CREATE", duckdb.STATEMENT_TYPE_EXECUTE: "EXECUTE",
		duckdb.STATEMENT_TYPE_ALTER: "ALTER", duckdb.STATEMENT_TYPE_TRANSACTION: "transaction", duckdb.STATEMENT_TYPE_COPY: "COPY",
		duckdb.STATEMENT_TYPE_ANALYZE: "ANALYZE", duckdb.STATEMENT_TYPE_VARIABLE_SET: "SET VARIABLE", duckdb.STATEMENT_TYPE_CREATE_FUNC: "CREATE FUNCTION",
		duckdb.STATEMENT_TYPE_DROP: "DROP", duckdb.STATEMENT_TYPE_EXPORT: "EXPORT", duckdb.STATEMENT_TYPE_PRAGMA: "PRAGMA",
		duckdb.STATEMENT_TYPE_VACUUM: "VACUUM", duckdb.STATEMENT_TYPE_CALL: "CALL", duckdb.STATEMENT_TYPE_SET: "SET/RESET/USE",
		duckdb.STATEMENT_TYPE_LOAD: "INSTALL/LOAD", duckdb.STATEMENT_TYPE_EXTENSION: "extension", duckdb.STATEMENT_TYPE_ATTACH: "ATTACH",
		duckdb.STATEMENT_TYPE_DETACH: "DETACH", duckdb.STATEMENT_TYPE_MULTI: "multiple",
		duckdb.STATEMENT_TYPE_SELECT: "SELECT", duckdb.STATEMENT_TYPE_EXPLAIN: "EXPLAIN",
	}
	if n, ok := names[t]; ok {
		return n
	}
	return fmt.Sprintf("de type %d", t)
}

// classify turns a DuckDB or context error into an *Error for the caller.
func (s *snapshot) classify(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	var qe *Error
	if errors.As(err, &qe) {
		return qe
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return &Error{Code: CodeTimeout, Message: "délai dépassé : la requête a été interrompue", Err: err}
	}
	if errors.Is(err, context.Canceled) {
		return &Error{Code: CodeTimeout, Message: "requête annulée", Err: err}
	}
	if strings.Contains(err.Error(), "empty query") {
		return &Error{Code: CodeInvalidSQL, Message: "requête SQL vide", Err: err}
	}
	var de *duckdb.Error
	if errors.As(err, &de) {
		msg := s.redact(de.Msg)
		switch de.Type {
		case duckdb.ErrorTypeInterrupt:
			return &Error{Code: CodeTimeout, Message: "délai dépassé : la requête a été interrompue", Err: err}
		case duckdb.ErrorTypeOutOfMemory:
			return &Error{Code: CodeResultTooLarge, Message: "limite de mémoire atteinte : réduisez la requête (filtres, agrégats, LIMIT)", Err: err}
		case duckdb.ErrorTypePermission:
			return &Error{Code: CodeRefused, Message: "accès interdit : la requête lit hors des jeux de données publiés", Detail: msg, Err: err}
		case duckdb.ErrorTypeInternal, duckdb.ErrorTypeFatal:
			s.broken.Store(true)
			return &Error{Code: CodeInternal, Message: "erreur interne du moteur", Err: err}
		case duckdb.ErrorTypeIO:
			return &Error{Code: CodeInternal, Message: "erreur interne du moteur", Err: err}
		}
		return &Error{Code: CodeInvalidSQL, Message: "requête SQL invalide : " + sqlProblem(de.Type) + " (le détail donne le message de DuckDB)", Detail: msg, Err: err}
	}
	if strings.Contains(err.Error(), "database has been invalidated") {
		s.broken.Store(true)
	}
	return fmt.Errorf("query: %w", err)
}

// redact hides local paths from DuckDB messages.
func (s *snapshot) redact(msg string) string {
	for _, p := range []string{s.tmpDir, s.path, s.access.Dir} {
		if p != "" {
			msg = strings.ReplaceAll(msg, p, "…")
		}
	}
	return msg
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		if v {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// sqlProblem says in French what kind of mistake a DuckDB error reports.
func sqlProblem(t duckdb.ErrorType) string {
	switch t {
	case duckdb.ErrorTypeParser, duckdb.ErrorTypeSyntax:
		return "erreur de syntaxe"
	case duckdb.ErrorTypeBinder, duckdb.ErrorTypeCatalog:
		return "table, colonne ou fonction inconnue"
	case duckdb.ErrorTypeConversion, duckdb.ErrorTypeMismatchType, duckdb.ErrorTypeInvalidType:
		return "types incompatibles"
	case duckdb.ErrorTypeDivideByZero, duckdb.ErrorTypeOutOfRange:
		return "calcul impossible"
	}
	return "DuckDB a refusé la requête"
}
