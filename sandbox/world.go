// Package sandbox is a faithful fake of the Cap Collectif GraphQL API (see
// /work/shared/capco/API.md) over deterministic French participatory-budget
// data. It serves several instances at once (POST /{instance}/graphql), parses
// and validates queries with gqlparser and executes them with its own
// streaming executor over the in-memory World built by Generate.
//
// The ingester must not know it talks to a sandbox: headers, ids, cursors,
// orderings, error shapes, access rules and quirks (unknown step types, null
// contribution edges, deleted authors, disagreeing counters…) follow the real
// server. GroundTruth gives the counts an anonymous crawl must store.
//
// # Evolving world
//
// The world has an epoch clock (evolve.go). Epoch 0 is the world exactly as
// Generate builds it; epoch N is that world after N evolution steps, each
// moving World.Now 6 hours forward and changing about 1 % of every
// instance's data, only inside the steps open at the new Now: new and
// withdrawn votes in the open vote step, a new concertation project (epoch
// 1) whose idea box and consultation gain proposals and opinions, a few
// edited and trashed proposals, new users, and the idea box closing at
// epoch 3 (a new box opening every 4 epochs, at 5, 9…, and closing two
// epochs later). Each step draws from a PCG seeded by the world seed, the
// instance name and the epoch number, so epoch N is the same bytes whether
// a running server advanced to it (POST /_admin/epoch) or started there
// (Options.Epoch, capstat sandbox --epoch N). Closed phases never change.
package sandbox

import (
	"sync"
	"time"
)

// World is the whole generated data set: one Instance per collectivity.
type World struct {
	Seed      int64
	Scale     Scale
	Now       time.Time // the "current time" used for step states (6 h later each epoch)
	Epoch     int       // evolution steps applied since Generate (Advance)
	Instances []*Instance
	ByName    map[string]*Instance

	// mu guards the records while Advance mutates them: the server's
	// requests hold RLock while they execute and write their response.
	mu sync.RWMutex
}

// Instance is one Cap Collectif platform (one collectivity).
type Instance struct {
	Name       string // path segment, e.g. "gironde"
	Label      string // "Département de la Gironde"
	BaseURL    string // https://gironde.sandbox.cap-collectif.com
	Projects   []*Project
	Steps      []*Step
	Proposals  []*Proposal
	Users      []*User
	UserTypes  []*UserType
	Themes     []*Theme
	Events     []*Event
	Districts  []*District
	Questions  []*Question
	Contribs   []*Contribution // opinions, versions, arguments, sources
	Replies    []*Reply
	Quests     []*Questionnaire
	VotesTotal int // all proposal votes (every state)

	byGlobalID map[string]any // base64 global id → record
	byRawID    map[string]any // raw uuid / raw step id → record
	cache      *viewCache
	now        time.Time // World.Now, read by the resolvers (step states)
	lastVote   int64     // highest vote id ever given (new votes go above)
	evo        *evoState // what the evolution steps created (nil at epoch 0)
}

// BudgetMeta is what the API does not carry about a participatory-budget
// edition: it lives here so demo configurations can match the world.
type BudgetMeta struct {
	Edition        int      // 2023, 2024…
	EnvelopeEUR    int64    // budget envelope in euros
	Model          string   // bp, bp-thematique, appel-a-projets, orientations
	WinnerStatuses []string // selection status names that mean "winner"
	LoserStatuses  []string // status names that mean "not selected"
}

// Project is a Cap Collectif project.
type Project struct {
	UUID, ID, Title, Slug, URL string
	TypeTitle                  string // ProjectType.title
	MetaDescription            string
	CoverURL                   string
	PublishedAt                time.Time
	Public                     bool // visible to anonymous callers
	Steps                      []*Step
	Themes                     []*Theme
	Authors                    []*User
	Districts                  []*District
	Budget                     *BudgetMeta // nil for non-budget projects
	// Contributions is Project.contributions (all kinds), createdAt DESC, id.
	Contributions []any
	// ContributionsCount is the deprecated DB counter; it disagrees with
	// len(Contributions) on purpose (API.md §4).
	ContributionsCount int
	VotesCount         int
	Contributors       []*User // createdAt DESC, id
}

// Step kinds (GraphQL __typename).
const (
	TCollect       = "CollectStep"
	TSelection     = "SelectionStep"
	TConsultation  = "ConsultationStep"
	TQuestionnaire = "QuestionnaireStep"
	TPresentation  = "PresentationStep"
	TOther         = "OtherStep"
	TRanking       = "RankingStep"
)

// Step is a project step. Steps whose Typename is outside the SDL have a raw
// ID (e.g. "pstep3") and an empty UUID.
type Step struct {
	UUID, ID, Typename, Title, Slug, URL string
	Start, End                           *time.Time
	Project                              *Project
	Position                             int
	// Proposals listed by CollectStep/SelectionStep.proposals, every state
	// (visibility filters apply at query time), in generation order.
	Proposals     []*Proposal
	Questionnaire *Questionnaire
	VotesCount    int // ConsultationStep.votesCount
}

// Status is a ProposalStepStatus (raw id).
type Status struct {
	ID, Name, Color string
}

// Selection is one ProposalSelection.
type Selection struct {
	Step   *Step
	Status *Status
}

// Address is a GoogleMapsAddress.
type Address struct {
	Formatted string
	Lat, Lng  float64
	JSON      string
	Types     []string
}

// Vote is a ProposalVote; times are Unix seconds.
type Vote struct {
	ID          int64
	CreatedAt   int64
	PublishedAt int64
	Anonymous   bool
}

// Proposal is a participatory-budget proposal.
type Proposal struct {
	UUID, ID, Reference, Title, Slug, URL string
	Body, Summary                         string
	CreatedAt                             time.Time
	UpdatedAt, PublishedAt, TrashedAt     *time.Time
	Published, Draft, Trashed             bool
	TrashedStatus, TrashedReason          string // VISIBLE/INVISIBLE
	NotPublishedReason                    string
	Author                                *User // nil: the account was deleted (author errors)
	AuthorDeleted                         bool
	Project                               *Project
	Collect                               *Step
	Selections                            []Selection
	Address                               *Address
	Theme                                 *Theme
	Category                              string
	Responses                             []*Response
	Votes                                 []Vote // visible votes, publishedAt DESC, id DESC
	// Cost is the analysts' estimation in euros (0 = none); only token
	// holders read it through analyses/assessment/decision.
	Cost       int64
	CostTyped  string // what the citizen typed in the cost question ("" = no answer)
	Winner     bool
	AnalysisID string
	AssessID   string
	DecisionID string
}

// Visible reports whether anonymous callers can list the proposal.
func (p *Proposal) Visible() bool { return p.Published && !p.Draft && p.Project.Public }

// User is a platform account.
type User struct {
	UUID, ID, Username, Slug, URL string
	CreatedAt                     time.Time
	UpdatedAt, DeletedAccountAt   *time.Time
	Enabled, SuperAdmin           bool
	Biography                     string
	Type                          *UserType
	WebsiteURL                    string
}

// Listed reports whether Query.users returns the account.
func (u *User) Listed() bool { return u.Enabled && !u.SuperAdmin }

// UserType is a user category.
type UserType struct {
	UUID, ID, Name string
}

// Theme is a project/proposal theme (raw id).
type Theme struct {
	ID, Title, Body string
}

// Event is an agenda event.
type Event struct {
	UUID, ID, Title, Slug, URL, Body, Link string
	CreatedAt                              time.Time
	UpdatedAt                              *time.Time
	Start                                  time.Time
	End                                    *time.Time
	Enabled                                bool
	Author                                 *User
	Address                                *Address
	ZipCode                                string
	Projects                               []*Project
}

// District is a GlobalDistrict (global id prefix "District:").
type District struct {
	UUID, ID, Name, Slug, TitleOnMap, Description, GeoJSON string
	DisplayedOnMap                                         bool
	Projects                                               []*Project // with positions 0..n-1
}

// Questionnaire belongs to a QuestionnaireStep.
type Questionnaire struct {
	UUID, ID, Title string
	Step            *Step
	Questions       []*Question
	Replies         []*Reply // every state, createdAt DESC, id DESC
}

// Question is any question type (global id "Question:<int>").
type Question struct {
	Num      int
	ID       string
	Typename string // SimpleQuestion, MultipleChoiceQuestion, SectionQuestion, MediaQuestion, MajorityQuestion
	Title    string
	Level    int
	Choices  []*Choice
	answers  []*Response
}

// Choice is a QuestionChoice.
type Choice struct {
	ID, Title string
}

// Response is a ValueResponse or MediaResponse.
type Response struct {
	Typename string // ValueResponse or MediaResponse
	ID       string // "" = null
	Question *Question
	Value    string // JSON string for multiple choice
	HasValue bool
	Media    []string // media URLs
}

// Reply is a questionnaire reply.
type Reply struct {
	UUID, ID, URL          string
	CreatedAt              time.Time
	UpdatedAt, PublishedAt *time.Time
	Published, Draft       bool
	Author                 *User // nil: deleted account
	Questionnaire          *Questionnaire
	Project                *Project
	Responses              []*Response
}

// Visible reports whether anonymous callers can list the reply.
func (r *Reply) Visible() bool { return r.Published && !r.Draft }

// Contribution is an Opinion, Version, Argument or Source.
type Contribution struct {
	UUID, ID, Typename, URL, Title, Body string
	CreatedAt                            time.Time
	UpdatedAt, PublishedAt, TrashedAt    *time.Time
	Published, Trashed, Pinned           bool
	TrashedStatus, TrashedReason         string
	ArgType                              string // FOR/AGAINST for arguments
	Parent                               *Contribution
	Related                              *Contribution
	Project                              *Project
}
