package batch

import "fmt"

// Problem is something in the input that kept a line, a file or a patient from being
// screened: a malformed NDJSON line, a resource whose patient cannot be told, a patient
// the server could not give. It names the file and line, never patient data.
type Problem struct {
	File string `json:"file,omitempty"`
	Line uint64 `json:"line,omitempty"` // 1-based; 0 when the problem concerns the whole file
	// Patient is set for problems that cost a patient its verdict (no Patient resource,
	// fetch failed), so that a caller can count them apart from skipped lines.
	Patient bool   `json:"patient,omitempty"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	switch {
	case p.File != "" && p.Line > 0:
		return fmt.Sprintf("%s line %d: %s", p.File, p.Line, p.Message)
	case p.File != "":
		return fmt.Sprintf("%s: %s", p.File, p.Message)
	}
	return p.Message
}
