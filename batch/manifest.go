package batch

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/trialscreen/trialscreen/screening"
)

// Files of an output directory.
const (
	ResultsFile  = "results.ndjson" // one verdict document a line, in patient id order
	SummaryFile  = "summary.csv"
	FunnelJSON   = "funnel.json"
	FunnelHTML   = "funnel.html"
	ManifestFile = "run.json"     // what the run was: protocol, settings, shard, inputs
	ProblemsFile = "problems.txt" // the input problems, one a line
)

// Manifest records what a run screens and how, so that a resumed run or a merge of
// shards can check it continues the same run: screening with another as-of or other
// inputs would mix verdicts that do not belong together.
type Manifest struct {
	Protocol            screening.ProtocolRef `json:"protocol"`
	AsOf                time.Time             `json:"as_of"`
	LymphodepletionDate string                `json:"lymphodepletion_date,omitempty"`
	TimeZone            string                `json:"time_zone"`
	Shard               string                `json:"shard,omitempty"`
	Inputs              []string              `json:"inputs"`
	Complete            bool                  `json:"complete"`
}

// NewManifest describes a run of cfg over inputs (file paths, an id list's name).
func NewManifest(cfg Config, inputs []string) Manifest {
	m := Manifest{
		Protocol: screening.ProtocolRef{ID: cfg.Protocol.Info.ID, Version: cfg.Protocol.Info.Version, Title: cfg.Protocol.Info.Title},
		AsOf:     cfg.Settings.AsOf, // with its offset: a resumed run renders as_of the same
		TimeZone: "UTC",
		Shard:    cfg.Shard.String(),
		Inputs:   append([]string{}, inputs...),
	}
	if cfg.Settings.Location != nil {
		m.TimeZone = cfg.Settings.Location.String()
	}
	if !cfg.Settings.LymphodepletionDate.IsZero() {
		m.LymphodepletionDate = cfg.Settings.LymphodepletionDate.Format("2006-01-02")
	}
	return m
}

// sameRun names the first difference between two manifests' runs, ignoring
// completion; "" when there is none.
func (m Manifest) sameRun(o Manifest) string {
	switch {
	case m.Protocol.ID != o.Protocol.ID || m.Protocol.Version != o.Protocol.Version:
		return "the protocol"
	case !m.AsOf.Equal(o.AsOf):
		return "--as-of"
	case m.LymphodepletionDate != o.LymphodepletionDate:
		return "--lymphodepletion-date"
	case m.TimeZone != o.TimeZone:
		return "--timezone"
	case m.Shard != o.Shard:
		return "--shard"
	case !slices.Equal(m.Inputs, o.Inputs):
		return "the inputs"
	}
	return ""
}

// ReadManifest reads dir's run.json; the error matches os.ErrNotExist when there is none.
func ReadManifest(dir string) (Manifest, error) {
	var m Manifest
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return m, fmt.Errorf("batch: %w", err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("batch: %s: %w", filepath.Join(dir, ManifestFile), err)
	}
	return m, nil
}

func writeManifest(dir string, m Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, ManifestFile), append(b, '\n'))
}

// writeFileAtomic replaces path with data through a temporary file and a rename, so
// that a crash leaves the old file or the new one, never half of one.
func writeFileAtomic(path string, data []byte) error {
	return writeFileWith(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// writeFileWith is writeFileAtomic for content written as a stream.
func writeFileWith(path string, write func(w io.Writer) error) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("batch: %w", err)
	}
	bw := bufio.NewWriterSize(f, 256<<10)
	err = write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("batch: writing %s: %w", path, err)
	}
	return nil
}
