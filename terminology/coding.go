// Package terminology knows the code systems a hospital's records are written in and
// places their codes: which system a URI or OID names, which active ingredients a drug
// code contains, which value set expansions a concept belongs to, and which standard
// code a site's local code means. It reads data files (shipped, imported or a site's own)
// and never the network; the screening engine consults it for every coding it reads.
package terminology

// Coding is a code in a code system. Codes match on (system, code), never on display.
type Coding struct {
	System string
	Code   string
	// Via, on a coding the engine derived (an ingredient of a branded drug, a site's
	// mapping of a local code, a standard word read as its code), is the coding or text
	// the record gave, so that evidence names both. It is empty on the record's own
	// codings and on the protocol's, and is never part of what a code means: compare
	// with Bare.
	Via string
}

// Bare is the coding without its derivation: the form used as a map key.
func (c Coding) Bare() Coding { return Coding{System: c.System, Code: c.Code} }

// Key is the coding as "system|code", the form evidence and search parameters use.
func (c Coding) Key() string { return c.System + "|" + c.Code }

// String names the coding for people: "SNOMED CT 109989006", "ICD-10-CM C90.02".
func (c Coding) String() string {
	if name := SystemName(c.System); name != "" {
		return name + " " + c.Code
	}
	return c.Key()
}
