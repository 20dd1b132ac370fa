package screening

import "time"

// Evidence is one thing a criterion's outcome rests on: a resource with its value and
// date, a derived value with its inputs, or a note on the rule that was applied.
type Evidence struct {
	Resource string `json:"resource,omitempty"` // "Observation/123"
	Role     string `json:"role,omitempty"`     // for derived values: which input this is
	Code     string `json:"code,omitempty"`     // system|code that matched
	// RecordedAs is what the record gave when the code that matched was derived from it:
	// the drug product whose ingredient matched, the local code a site mapped, the system
	// under another spelling, the word a result was written as.
	RecordedAs      string   `json:"recorded_as,omitempty"`
	Codeset         string   `json:"codeset,omitempty"` // the protocol codeset it matched in
	Date            string   `json:"date,omitempty"`
	Status          string   `json:"status,omitempty"`
	Value           *float64 `json:"value,omitempty"` // in the unit the rule compares in
	Unit            string   `json:"unit,omitempty"`
	OriginalValue   *float64 `json:"original_value,omitempty"`
	OriginalUnit    string   `json:"original_unit,omitempty"`
	ValueCode       string   `json:"value_code,omitempty"`
	ValueRecordedAs string   `json:"value_recorded_as,omitempty"` // as RecordedAs, for the value
	Text            string   `json:"text,omitempty"`
	Note            string   `json:"note,omitempty"`
	// VersionID and LastUpdated are the resource's meta.versionId and meta.lastUpdated
	// when the record gave them: which version of the resource decided (versions.go).
	VersionID   string `json:"version_id,omitempty"`
	LastUpdated string `json:"last_updated,omitempty"`
	// Display and ValueDisplay are the record's own words for the resource's code and its
	// coded value (CodeableConcept.text, else the first Coding.display): what a person
	// reads beside the code ("Negative" for SNOMED CT 260385009). Never matched on.
	Display      string `json:"display,omitempty"`
	ValueDisplay string `json:"value_display,omitempty"`
}

// Result is the outcome of one criterion with its evidence.
type Result struct {
	ID       string     `json:"id"`
	Kind     string     `json:"kind"` // inclusion or exclusion
	Outcome  Outcome    `json:"outcome"`
	Reason   Reason     `json:"reason"`
	Summary  string     `json:"summary"`
	Rule     string     `json:"rule"`
	Text     string     `json:"text"`
	Obtain   string     `json:"obtain,omitempty"` // with unknown: what would decide it
	Evidence []Evidence `json:"evidence"`
	// Threshold is the limit the criterion compares a value with, from the protocol
	// file's parameters, for pages that word it for people; nil for criteria without one.
	Threshold *Threshold `json:"threshold,omitempty"`
}

// Threshold is a criterion's numeric limit as the protocol file sets it: value
// comparator limit, where the limit is Value, or ULNMultiple times the result's upper
// limit of normal (ULNDefault when the result gives none).
type Threshold struct {
	Label       string  `json:"label"`
	Comparator  string  `json:"comparator"`
	Value       float64 `json:"value,omitempty"`
	Unit        string  `json:"unit"`
	ULNMultiple float64 `json:"uln_multiple,omitempty"`
	ULNDefault  float64 `json:"uln_default,omitempty"`
	WindowDays  int     `json:"window_days,omitempty"`
}

// Verdict is the screening's overall answer.
type Verdict string

const (
	Ineligible          Verdict = "ineligible"
	InsufficientData    Verdict = "insufficient-data"
	PotentiallyEligible Verdict = "potentially-eligible"
)

// Screening is the verdict document: what the CLI prints with --format json and what
// the REST API returns.
type Screening struct {
	// ScreeningID is the id the service stored this screening under (GET
	// /v1/screenings/{id}); empty where screenings are not stored (the CLI, batch files).
	ScreeningID string `json:"screening_id,omitempty"`
	// Stored is set by a service that stores screenings: false when the store failed or
	// was too slow (the verdict stands; it was only not kept). Absent where nothing is
	// stored, so the CLI's document is as it was.
	Stored      *bool          `json:"stored,omitempty"`
	Patient     PatientRef     `json:"patient"`
	Verdict     Verdict        `json:"verdict"`
	AsOf        time.Time      `json:"as_of"`
	Protocol    ProtocolRef    `json:"protocol"`
	Settings    SettingsReport `json:"settings"`
	Counts      Counts         `json:"counts"`
	Criteria    []Result       `json:"criteria"`
	ToObtain    []Item         `json:"to_obtain"`
	ReviewItems []Item         `json:"review_items"`
	Data        DataReport     `json:"data"`
	// Review is where the coordinator's review of the review items stands (package
	// review computes it), set by a service that keeps review decisions; absent
	// elsewhere. It sits beside Verdict and never changes it.
	Review any `json:"review,omitempty"`
}

// PatientRef names the screened patient.
type PatientRef struct {
	ID        string `json:"id"`
	Reference string `json:"reference"`
	// Name, Gender and BirthDate identify the patient to a person reading the report
	// (and a worklist); each is absent when the record does not give it. Patient data:
	// never in logs or metrics.
	Name      string `json:"name,omitempty"`
	Gender    string `json:"gender,omitempty"`
	BirthDate string `json:"birth_date,omitempty"`
}

// ProtocolRef names the protocol and the version of its encoding.
type ProtocolRef struct {
	ID      string `json:"id"`
	Version string `json:"version"`
	Title   string `json:"title"`
}

// SettingsReport is every setting the evaluation used, so that a run can be reproduced.
type SettingsReport struct {
	AsOf                time.Time `json:"as_of"`
	LymphodepletionDate string    `json:"lymphodepletion_date,omitempty"`
	TimeZone            string    `json:"time_zone"`
	ObservationStatuses []string  `json:"observation_statuses"`
	// Terminology is the vocabulary the record's codes were placed with. Every screening
	// of a protocol shares one report, made when the protocol was compiled: it is only read.
	Terminology *TerminologyReport `json:"terminology"`
	// Each criterion's own settings (windows, thresholds, units) are its rule.
}

// TerminologyReport names the vocabulary a screening placed codes with: the drug table
// (shipped, or an RxNorm import laid over it), the value set expansions, a site's
// ConceptMaps and code system aliases.
type TerminologyReport struct {
	DrugTable DrugTableReport `json:"drug_table"`
	ValueSets int             `json:"value_sets"`
	// SiteMaps names the site's ConceptMaps (url|version, or the file); empty when none.
	SiteMaps []string `json:"site_maps"`
	// SystemAliases is how many code system aliases the site added.
	SystemAliases int `json:"system_aliases"`
	// Expansion says where the value set expansions came from ("shipped").
	Expansion string `json:"expansion"`
}

// DrugTableReport is the drug table's version ("2026-12-06.1 + RxNorm 2024-12-02") and
// how many codes it places.
type DrugTableReport struct {
	Version string `json:"version"`
	Rows    int    `json:"rows"`
}

// Counts is how many criteria got each outcome.
type Counts struct {
	Pass    int `json:"pass"`
	Fail    int `json:"fail"`
	Unknown int `json:"unknown"`
	Review  int `json:"review"`
}

// Item is one thing to obtain or to decide, for the coordinator.
type Item struct {
	Criterion string `json:"criterion"`
	Reason    Reason `json:"reason"`
	What      string `json:"what"`
}

// DataReport tells what input was read and what could not be used.
type DataReport struct {
	Seen          map[string]int          `json:"resources_seen"`
	Sources       map[string]SourceStatus `json:"sources"`
	Unreadable    []UnreadableEntry       `json:"unreadable"`
	OtherPatients int                     `json:"other_patient_resources"`
}
