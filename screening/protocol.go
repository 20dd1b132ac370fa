package screening

import "gopkg.in/yaml.v3"

// ProtocolFile is the protocol data file as written: what a clinician or informaticist
// reads to see exactly what each criterion checks. Load validates it and Compile turns it
// into an Engine.
type ProtocolFile struct {
	Protocol ProtocolInfo         `yaml:"protocol"`
	Systems  map[string]string    `yaml:"systems"`
	Statuses StatusRules          `yaml:"statuses"`
	Units    map[string]UnitGroup `yaml:"units"`
	Codesets map[string]Codeset   `yaml:"codesets"`
	Criteria []CriterionSpec      `yaml:"criteria"`
}

// ProtocolInfo identifies the protocol and the version of this encoding of it.
type ProtocolInfo struct {
	ID      string `yaml:"id"`
	Version string `yaml:"version"`
	Title   string `yaml:"title"`
	Source  string `yaml:"source"`
}

// StatusRules say which resource statuses count.
type StatusRules struct {
	// Observation statuses that count as a result (contract: final, amended, corrected).
	Observation []string `yaml:"observation"`
	// Verification statuses that make a Condition or AllergyIntolerance not count.
	Discounted []string `yaml:"discounted_verification"`
	// Clinical statuses that mean a condition is current.
	Active []string `yaml:"active_clinical"`
	// Clinical statuses that mean a condition is over (cured, resolved, in remission).
	Resolved []string `yaml:"resolved_clinical"`
}

// UnitGroup lists the UCUM codes accepted for one kind of value and how each converts
// to the group's canonical unit (the unit thresholds are written in).
type UnitGroup struct {
	Canonical string       `yaml:"canonical"`
	Accept    []UnitFactor `yaml:"accept"`
	Unitless  bool         `yaml:"unitless"` // an integer or a quantity without a unit is read as canonical
}

// UnitFactor converts one UCUM code: canonical = value * multiply_by / divide_by. A
// factor left out is 1; one given must be a finite number above 0. The fields are
// pointers so that a factor written as 0 is told from one left out: read as "none",
// divide_by: 0 once let an ANC of 600 /uL through as 600 x 10*9/L.
type UnitFactor struct {
	Code       string   `yaml:"code"`
	MultiplyBy *float64 `yaml:"multiply_by"`
	DivideBy   *float64 `yaml:"divide_by"`
}

// Codeset is a curated list of codes for one clinical idea.
type Codeset struct {
	Title string      `yaml:"title"`
	Codes []CodeEntry `yaml:"codes"`
	// ValueSets names shipped value set expansions (terminology/data/valuesets) whose
	// codes belong to the codeset too: the published expansion of a concept the protocol
	// means with its descendants.
	ValueSets []string `yaml:"valuesets"`
}

// CodeEntry is one code or, for ICD-10-CM, ICD-10-PCS and CPT, one code prefix.
type CodeEntry struct {
	System  string `yaml:"system"`
	Code    string `yaml:"code"`
	Prefix  string `yaml:"prefix"` // ICD-10-CM, ICD-10-PCS, CPT: matches the code and all below it
	Display string `yaml:"display"`
	// Source is where the code was verified (the reference's tags: S, E, H, R, C, L, P, U).
	Source string `yaml:"source"`
}

// CriterionSpec is one criterion as written in the protocol file.
type CriterionSpec struct {
	ID        string    `yaml:"id"`
	Type      string    `yaml:"type"` // inclusion or exclusion
	Text      string    `yaml:"text"` // the protocol's own wording
	Check     string    `yaml:"check"`
	Obtain    string    `yaml:"obtain"`     // what to obtain when the outcome is unknown
	AppliesTo string    `yaml:"applies_to"` // "female" limits the criterion to women
	Note      string    `yaml:"note"`
	Params    yaml.Node `yaml:"params"` // decoded strictly by the check's compiler
}
