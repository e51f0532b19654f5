package transform

import (
	"log/slog"

	"github.com/capstat/capstat/internal/datasets"
)

// Options configures Run.
type Options struct {
	// Sources carries the per-source configuration. A source present in the
	// raw tables but absent here is still transformed with the defaults
	// (collectivity inferred from its name, default winner statuses).
	Sources []SourceMeta
	// AuthorKeySecret keys the HMAC-SHA256 pseudonyms of author ids
	// (capstat_author_key). Required; keep it outside any release.
	AuthorKeySecret []byte
	// Logger receives progress messages; nil means slog.Default().
	Logger *slog.Logger
}

// SourceMeta describes one source (platform instance) of the config.
type SourceMeta struct {
	// Name is the source name, e.g. "landes".
	Name string
	// CollectivityCode, CollectivityKind and CollectivityName are optional
	// when Name is the slug of a département or région name ("landes",
	// "deux-sevres", "occitanie"): the reference table provides them.
	CollectivityCode string
	CollectivityKind string
	CollectivityName string
	// Population overrides the INSEE population (0 = use the reference).
	Population int64
	// PopulationYear is the census year of Population (0 = unknown).
	PopulationYear int
	// WinnerStatuses lists the selection status names meaning "winner"
	// (empty = DefaultWinnerStatuses()).
	WinnerStatuses []string
	// CostQuestion is the title of the proposal form question holding a
	// free-text cost, used when the API gives no estimatedCost.
	CostQuestion string
	// Projects configures participatory-budget editions.
	Projects []ProjectMeta
}

// ProjectMeta configures one project (usually a participatory-budget
// edition). A configured project is always treated as a budget edition.
type ProjectMeta struct {
	ProjectID string
	// Edition label (empty = year of the first step).
	Edition string
	// EnvelopeEUR is the edition's budget envelope in euros (0 = unknown).
	EnvelopeEUR int64
	// ExerciseModel is one of ExerciseModels() (empty = inferred from the steps).
	ExerciseModel string
	// WinnerStatuses overrides the source's list for this project.
	WinnerStatuses []string
}

// DefaultWinnerStatuses returns the status names meaning "winner" when a
// source configures none (see the catalogue's proposals.winner column).
func DefaultWinnerStatuses() []string {
	return []string{"Vote gagné", "Lauréat", "Lauréate", "Gagnant", "Retenu", "Réalisé", "En cours de réalisation"}
}

// ExerciseModels returns the accepted exercise models: the values of the
// catalogue's exercise_model enum.
func ExerciseModels() []string { return datasets.MustLoad().Enum("exercise_model") }
