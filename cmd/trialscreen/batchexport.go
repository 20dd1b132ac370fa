package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/trialscreen/trialscreen/fhirclient"
	"github.com/trialscreen/trialscreen/internal/fhirid"
	"github.com/trialscreen/trialscreen/screening"
)

// exportDoneFile, in the export directory, lists the downloaded files once all are in.
const exportDoneFile = "export-complete.txt"

// exportRequest is the Bulk Data export of what protocol p reads, for target: "Group/ID",
// "Patient" (every patient) or "system". _type lists the types criteria read, with
// Patient and Medication (drugs named by reference).
func exportRequest(target string, p *screening.Protocol) (fhirclient.ExportRequest, error) {
	var req fhirclient.ExportRequest
	switch {
	case strings.HasPrefix(target, "Group/") && len(target) > len("Group/"):
		req.Group = strings.TrimPrefix(target, "Group/")
		if !fhirclient.ValidID(req.Group) {
			// Not quoted: a Group id can name a ward or a study.
			return req, usagef("batch: --export Group/ID: the ID is not a FHIR id (%s)", fhirid.Rule)
		}
	case target == "Patient":
		req.Patient = true
	case target == "system":
	default:
		return req, usagef("batch: --export must be Group/ID, Patient or system, not %q", target)
	}
	req.Types = append([]string{screening.TypePatient, "Medication"}, p.NeededTypes()...)
	// No _typeFilter by code: records arrive coded in ways no list of the protocol's
	// codes stands for, and a record whose code cannot be placed must be seen to be judged.
	return req, nil
}

// runExport exports from the configured FHIR server into dir and returns the NDJSON
// files to screen. An export whose server reports errors is refused: what it left out
// would read as "no records" for the patients concerned, and they cannot be told.
func runExport(ctx context.Context, c *fhirclient.Client, req fhirclient.ExportRequest, dir string, resume bool, log io.Writer) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("batch: --export-dir: %w", err)
	}
	done := filepath.Join(dir, exportDoneFile)
	if resume {
		// A resumed run screens the export it started with, not a newer one.
		if data, err := os.ReadFile(done); err == nil {
			fmt.Fprintln(log, "trialscreen: batch: resuming on the export already downloaded in", dir)
			return strings.Fields(string(data)), nil
		}
	}
	req.OnProgress = func(p fhirclient.ExportProgress) {
		fmt.Fprintf(log, "trialscreen: batch: export running (%s), next check in %s\n", progressText(p.Text), p.Wait)
	}
	fmt.Fprintln(log, "trialscreen: batch: starting the Bulk Data export")
	res, err := c.Export(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("batch: export: %w", err)
	}
	dl, err := c.DownloadExport(ctx, res, dir, fhirclient.DownloadOptions{})
	if err != nil {
		return nil, fmt.Errorf("batch: export: %w", err)
	}
	if n := dl.Issues(); n > 0 {
		return nil, fmt.Errorf("batch: export: the server reported %d problem(s) exporting the data (see %s): the export may be incomplete, and missing data must never read as absent; fix the export and run again",
			n, filepath.Join(dir, "error-*.ndjson"))
	}
	var paths []string
	var bytes int64
	for _, f := range dl.Files {
		paths = append(paths, f.Path)
		bytes += f.Bytes
	}
	if err := os.WriteFile(done, []byte(strings.Join(paths, "\n")+"\n"), 0o644); err != nil {
		return nil, fmt.Errorf("batch: export: %w", err)
	}
	fmt.Fprintf(log, "trialscreen: batch: export downloaded: %d files, %d MB\n", len(paths), bytes>>20)
	return paths, nil
}

// progressShare is the part of an X-Progress the log may show: a percentage or a count
// of a total ("50%", "3/10"). The rest is the server's free text, which is never logged.
var progressShare = regexp.MustCompile(`\d{1,3}(\.\d+)?\s?%|\d{1,9}\s?/\s?\d{1,9}`)

func progressText(s string) string {
	if m := progressShare.FindString(s); m != "" {
		return m + " done"
	}
	if s == "" {
		return "no progress given"
	}
	return "the server's progress text is not logged"
}
