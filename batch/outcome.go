package batch

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/trialscreen/trialscreen/fhirbundle"
)

const typeOutcome = "OperationOutcome"

// outcomeProblem reads an OperationOutcome found among the input lines (a Bulk Data
// export lists its errors in such files, e.g. error-1.ndjson, and a user may well copy
// them along). Any issue that is not severity information means the export may lack
// resources, and a missing resource could make a criterion pass, so the run refuses it
// as the CLI refuses an export whose manifest lists errors. "" when it is information
// only.
func outcomeProblem(line []byte) string {
	var oo struct {
		Issue []struct {
			Severity string `json:"severity"`
			Code     string `json:"code"`
		} `json:"issue"`
	}
	if err := json.Unmarshal(line, &oo); err != nil {
		return "an OperationOutcome whose issues cannot be read: the export reports a problem of unknown severity, so it may be incomplete; not screening from it (fix or re-run the export)"
	}
	var bad []string
	for _, is := range oo.Issue {
		if fhirbundle.SeriousSeverity(is.Severity) {
			// Severity and code are FHIR code values, never patient data; the
			// diagnostics text may hold anything, so it is not quoted.
			bad = append(bad, fmt.Sprintf("%q (code %q)", is.Severity, is.Code))
		}
	}
	switch {
	case len(oo.Issue) == 0:
		return "an OperationOutcome without issues: the export reports a problem it does not describe, so it may be incomplete; not screening from it (fix or re-run the export)"
	case len(bad) > 0:
		return "an OperationOutcome with severity " + strings.Join(bad, ", ") + ": the export reports a problem, so it may be incomplete; not screening from it (fix or re-run the export, or remove the file once the issue is known not to affect the data)"
	}
	return ""
}
