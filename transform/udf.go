package transform

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"fmt"

	"github.com/duckdb/duckdb-go/v2"
)

// AuthorKey returns the pseudonym of author id on source: the hex
// HMAC-SHA256 of source ‖ 0x00 ‖ id keyed with secret. It is what the SQL
// function capstat_author_key(source, id) returns.
func AuthorKey(secret []byte, source, id string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(source))
	m.Write([]byte{0})
	m.Write([]byte(id))
	return hex.EncodeToString(m.Sum(nil))
}

type scalarUDF struct {
	in   []duckdb.Type
	out  duckdb.Type
	exec duckdb.RowExecutorFn
}

func (u scalarUDF) Config() duckdb.ScalarFuncConfig {
	cfg := duckdb.ScalarFuncConfig{}
	for _, t := range u.in {
		ti, _ := duckdb.NewTypeInfo(t)
		cfg.InputTypeInfos = append(cfg.InputTypeInfos, ti)
	}
	cfg.ResultTypeInfo, _ = duckdb.NewTypeInfo(u.out)
	return cfg
}

func (u scalarUDF) Executor() duckdb.ScalarFuncExecutor {
	return duckdb.ScalarFuncExecutor{RowExecutor: u.exec}
}

// registerUDFs registers capstat_author_key and capstat_parse_cost on conn.
func registerUDFs(ctx context.Context, conn *sql.Conn, secret []byte) error {
	key := append([]byte(nil), secret...)
	udfs := map[string]scalarUDF{
		"capstat_author_key": {
			in:  []duckdb.Type{duckdb.TYPE_VARCHAR, duckdb.TYPE_VARCHAR},
			out: duckdb.TYPE_VARCHAR,
			exec: func(v []driver.Value) (any, error) {
				src, _ := v[0].(string)
				id, _ := v[1].(string)
				return AuthorKey(key, src, id), nil
			},
		},
		"capstat_parse_cost": {
			in:  []duckdb.Type{duckdb.TYPE_VARCHAR},
			out: duckdb.TYPE_BIGINT,
			exec: func(v []driver.Value) (any, error) {
				s, _ := v[0].(string)
				if eur, ok := ParseCost(s); ok {
					return eur, nil
				}
				return nil, nil
			},
		},
	}
	for name, u := range udfs {
		if err := duckdb.RegisterScalarUDF(conn, name, u); err != nil {
			// Already registered on this connection by an earlier Run.
			var exists bool
			if qerr := conn.QueryRowContext(ctx, `SELECT count(*) > 0 FROM duckdb_functions() WHERE function_name = ?`, name).Scan(&exists); qerr == nil && exists {
				continue
			}
			return fmt.Errorf("register UDF %s: %w", name, err)
		}
	}
	// A function registered earlier on this database with another secret
	// must not survive silently: check that SQL and Go agree.
	var got string
	if err := conn.QueryRowContext(ctx, `SELECT capstat_author_key('capstat', 'probe')`).Scan(&got); err != nil {
		return fmt.Errorf("check capstat_author_key: %w", err)
	}
	if got != AuthorKey(key, "capstat", "probe") {
		return fmt.Errorf("capstat_author_key is registered with another secret on this database; use a new connection pool")
	}
	return nil
}
