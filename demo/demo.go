// Package demo ships hand-built synthetic patients: the service's built-in data when no
// FHIR server is configured, and the golden-verdict fixtures of the tests.
package demo

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"time"
)

//go:embed patients/*.json
var files embed.FS

// AsOf is the instant the demo patients were written for. Demo screenings default to it
// so that the demo gives the same verdicts whenever it is run (their labs would
// otherwise go stale as time passes).
func AsOf() time.Time { return time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC) }

// DefaultAsOf is the evaluation instant of a screening of patientID whose request names
// none: AsOf for a demo patient, whoever sends its record (the demo source, a Bundle, a
// CDS prefetch), so that every surface gives it the same verdict whatever the date; now
// for anyone else, whose data a fixed instant would cut off at 2026-11-20.
func DefaultAsOf(patientID string, now time.Time) time.Time {
	if _, ok := NameForPatientID(patientID); ok {
		return AsOf()
	}
	return now
}

// Names lists the demo patients, e.g. "candidate".
func Names() []string {
	entries, _ := fs.ReadDir(files, "patients")
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".json"))
	}
	sort.Strings(names)
	return names
}

// Bundle returns a demo patient's FHIR Bundle by name.
func Bundle(name string) ([]byte, error) {
	data, err := files.ReadFile("patients/" + name + ".json")
	if err != nil {
		return nil, fmt.Errorf("demo patient %q does not exist (have: %s)", name, strings.Join(Names(), ", "))
	}
	return data, nil
}

// idPrefix: each demo patient's FHIR id is "demo-" + its name.
const idPrefix = "demo-"

// NameForPatientID finds the demo patient with a FHIR Patient id.
func NameForPatientID(id string) (string, bool) {
	name, ok := strings.CutPrefix(id, idPrefix)
	if !ok {
		return "", false
	}
	if _, err := files.ReadFile("patients/" + name + ".json"); err != nil {
		return "", false
	}
	return name, true
}
