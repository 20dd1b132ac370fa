// Package funnel summarises many patients' verdict documents against one protocol: the
// verdict mix, each criterion's outcomes and the attrition in protocol order. A batch run
// builds one per shard; shards merge by Merge or by FromNDJSON over their documents.
package funnel

import (
	"io"
	"time"

	"github.com/trialscreen/trialscreen/screening"
)

// Funnel accumulates verdict documents for one protocol. It is not safe for concurrent use.
type Funnel struct {
	// Label, when set, is written with the report (e.g. the run's name).
	Label string
	// GeneratedAt, when set, is written with the report. It is left out when zero so that
	// reports of the same documents compare byte for byte.
	GeneratedAt time.Time
}

// New starts an empty funnel for protocol p.
func New(p *screening.Protocol) *Funnel { return &Funnel{} }

// Add counts one patient's verdict document.
func (f *Funnel) Add(s *screening.Screening) {}

// Merge adds another funnel's counts; both must be for the same protocol id and version.
func (f *Funnel) Merge(other *Funnel) error { return nil }

// FromNDJSON rebuilds a funnel from verdict documents, one JSON document a line.
func FromNDJSON(p *screening.Protocol, r io.Reader) (*Funnel, error) { return New(p), nil }

// WriteTable writes the funnel as a plain-text table for a terminal.
func (f *Funnel) WriteTable(w io.Writer) error { return nil }

// WriteJSON writes the funnel as JSON.
func (f *Funnel) WriteJSON(w io.Writer) error { return nil }

// WriteHTML writes the funnel as an HTML page with an inline-SVG bar chart.
func (f *Funnel) WriteHTML(w io.Writer) error { return nil }
