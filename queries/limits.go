package queries

import (
	"time"
)

// Limits bound what one query may use. Zero fields take the defaults.
type Limits struct {
	MaxRows              int           // rows of a JSON or table answer (default 1000)
	MaxExportRows        int           // rows of an ad-hoc CSV answer, refused (413) past it (default 50000)
	Timeout              time.Duration // per query (default 5s)
	ExportTimeout        time.Duration // canned CSV/Parquet exports, which have no row limit (default 2m)
	MemoryLimit          string        // DuckDB memory_limit (default "512MB")
	Threads              int           // DuckDB threads (default 2)
	MaxTempDirectorySize string        // DuckDB max_temp_directory_size (default "1GB")
	MaxSQLBytes          int           // ad-hoc SQL text (default 16384)
	MaxConcurrent        int           // queries running at once per engine; more get 429 (default 4)
}

// DefaultLimits returns the limits used for zero fields.
func DefaultLimits() Limits {
	return Limits{
		MaxRows: 1000, MaxExportRows: 50000, Timeout: 5 * time.Second, ExportTimeout: 2 * time.Minute,
		MemoryLimit: "512MB", Threads: 2, MaxTempDirectorySize: "1GB", MaxSQLBytes: 16 << 10, MaxConcurrent: 4,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxRows <= 0 {
		l.MaxRows = d.MaxRows
	}
	if l.MaxExportRows <= 0 {
		l.MaxExportRows = d.MaxExportRows
	}
	if l.Timeout <= 0 {
		l.Timeout = d.Timeout
	}
	if l.ExportTimeout <= 0 {
		l.ExportTimeout = d.ExportTimeout
	}
	if l.MemoryLimit == "" {
		l.MemoryLimit = d.MemoryLimit
	}
	if l.Threads <= 0 {
		l.Threads = d.Threads
	}
	if l.MaxTempDirectorySize == "" {
		l.MaxTempDirectorySize = d.MaxTempDirectorySize
	}
	if l.MaxSQLBytes <= 0 {
		l.MaxSQLBytes = d.MaxSQLBytes
	}
	if l.MaxConcurrent <= 0 {
		l.MaxConcurrent = d.MaxConcurrent
	}
	return l
}
