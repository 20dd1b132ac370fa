package funnel

import (
	"encoding/json"
	"fmt"
	"io"
)

// WriteJSON writes the report as indented JSON with a final newline. The output depends
// only on the counts (and Label/GeneratedAt when set), so shard merges compare byte for byte.
func (f *Funnel) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // a file, not markup: keep protocol text readable
	if err := enc.Encode(f.Report()); err != nil {
		return fmt.Errorf("funnel: writing JSON: %w", err)
	}
	return nil
}
