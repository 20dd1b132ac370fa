package main

import (
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/trialscreen/trialscreen/batch"
	"github.com/trialscreen/trialscreen/screening"
	"github.com/trialscreen/trialscreen/terminology"
)

func terminologyCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("terminology: a subcommand is required (import-rxnorm or report)")
	}
	switch args[0] {
	case "import-rxnorm":
		return importRxNormCmd(args[1:], stdout)
	case "report":
		return terminologyReportCmd(ctx, args[1:], getenv, stdout, stderr)
	case "help", "-h", "--help", "-help":
		writeUsage(stdout, "terminology ")
		return nil
	}
	return usagef("terminology: unknown subcommand %q (import-rxnorm or report)", args[0])
}

// parseInterspersed parses flags wherever they stand among the arguments
// ("import-rxnorm A B -o F" as well as "import-rxnorm -o F A B").
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// DefaultIndexPath is where import-rxnorm writes unless told otherwise.
const defaultIndexPath = "trialscreen-data/rxnorm-ingredients.tsv"

var releaseDir = regexp.MustCompile(`RxNorm_full(?:_prescribe)?_(\d{2})(\d{2})(\d{4})`)

func importRxNormCmd(args []string, stdout io.Writer) error {
	cmd := commandNamed("terminology import-rxnorm")
	fs := cmd.flagSet()
	out := fs.String("o", defaultIndexPath, "the index file to write")
	version := fs.String("version", "", "the release's name, e.g. \"RxNorm 2024-12-02\"")
	satPath := fs.String("rxnsat", "", "RXNSAT.RRF, for RxNorm's NDCs")
	files, err := cmd.parseInterspersed(fs, args, stdout)
	if err != nil {
		return err
	}
	if len(files) != 2 {
		return usagef("terminology import-rxnorm: give RXNCONSO.RRF and RXNREL.RRF (in that order), not %d files", len(files))
	}
	consoPath, relPath := files[0], files[1]
	if base := strings.ToUpper(filepath.Base(consoPath)); !strings.Contains(base, "RXNCONSO") {
		return usagef("terminology import-rxnorm: the first file must be RXNCONSO.RRF, not %s", consoPath)
	}
	if base := strings.ToUpper(filepath.Base(relPath)); !strings.Contains(base, "RXNREL") {
		return usagef("terminology import-rxnorm: the second file must be RXNREL.RRF, not %s", relPath)
	}
	if *version == "" {
		abs, _ := filepath.Abs(consoPath)
		m := releaseDir.FindStringSubmatch(abs)
		if m == nil {
			return usagef("terminology import-rxnorm: name the release with --version (e.g. \"RxNorm 2024-12-02\"): its path does not say (RxNorm_full_MMDDYYYY)")
		}
		*version = fmt.Sprintf("RxNorm %s-%s-%s", m[3], m[1], m[2])
	}
	im := &terminology.RxNormImport{Version: *version}
	open := func(p string) (*os.File, error) {
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("terminology import-rxnorm: %w", err)
		}
		return f, nil
	}
	conso, err := open(consoPath)
	if err != nil {
		return err
	}
	defer conso.Close()
	rel, err := open(relPath)
	if err != nil {
		return err
	}
	defer rel.Close()
	var d *terminology.Drugs
	if *satPath != "" {
		sat, err := open(*satPath)
		if err != nil {
			return err
		}
		defer sat.Close()
		d, err = terminology.ImportRxNorm(im, conso, consoPath, rel, relPath, sat, *satPath)
		if err != nil {
			return fmt.Errorf("terminology import-rxnorm: %w", err)
		}
	} else if d, err = terminology.ImportRxNorm(im, conso, consoPath, rel, relPath, nil, ""); err != nil {
		return fmt.Errorf("terminology import-rxnorm: %w", err)
	}
	if d.Len() == 0 {
		return fmt.Errorf("terminology import-rxnorm: no RxNorm concept got an ingredient (are these RxNorm's RRF files? %d RXNCONSO rows, %d RXNREL rows read)", im.ConsoRows, im.RelRows)
	}
	comments := []string{
		"trialscreen drug ingredient index, imported from the RxNorm release by trialscreen terminology import-rxnorm",
		"from " + filepath.Base(consoPath) + ", " + filepath.Base(relPath) + map[bool]string{true: ", " + filepath.Base(*satPath), false: ""}[*satPath != ""],
		"Maps RxNorm concepts (IN, PIN, MIN, BN, SCDC, SBDC, SCD, SBD, SCDF, SBDF, SCDG, SBDG, GPCK, BPCK) and RxNorm's NDCs to the RxCUIs of their base ingredients (IN).",
		"Use: TRIALSCREEN_DRUG_INDEX=<this file> (merged over the shipped drug table).",
	}
	for _, c := range im.Counts() {
		comments = append(comments, "import: "+c)
	}
	if err := writeFileAtomic(*out, func(w io.Writer) error { return d.Write(w, comments) }); err != nil {
		return fmt.Errorf("terminology import-rxnorm: %w", err)
	}
	for _, c := range im.Counts() {
		fmt.Fprintln(stdout, c)
	}
	if im.NoIngredientsCount > 0 {
		fmt.Fprintf(stdout, "%d concepts got no ingredient from any relationship and are left out, e.g.:\n", im.NoIngredientsCount)
		for _, n := range im.NoIngredients[:min(5, len(im.NoIngredients))] {
			fmt.Fprintln(stdout, "  "+n)
		}
	}
	fmt.Fprintf(stdout, "wrote %d rows (version %q) to %s\n", d.Len(), d.Version, *out)
	return nil
}

// writeFileAtomic writes a file through a temporary one beside it, so that a reader
// never sees half of it and a failed write leaves the old file.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// unplacedCode is one line of the report: a code (or, for records with no code, a
// text) of one resource type that the engine cannot place.
type unplacedCode struct {
	ResourceType string `json:"resource_type"`
	System       string `json:"system"`
	Code         string `json:"code"`
	Text         string `json:"text"` // a sample of what the sender called it
	Patients     int    `json:"patients"`
	Resources    int    `json:"resources"`
	Why          string `json:"why"`
	patients     map[string]struct{}
}

// terminologyReport is what terminology report prints with --format json.
type terminologyReport struct {
	Inputs       []string                     `json:"inputs"`
	Patients     int                          `json:"patients_read"`
	Unreadable   int64                        `json:"patients_not_read"`
	Problems     int64                        `json:"input_problems"`
	WithUnplaced int                          `json:"patients_with_unplaced"`
	Records      int                          `json:"records_unplaced"`
	Terminology  *screening.TerminologyReport `json:"terminology"`
	Codes        []*unplacedCode              `json:"codes"`
	byKey        map[[4]string]*unplacedCode
}

func terminologyReportCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := commandNamed("terminology report")
	fs := cmd.flagSet()
	format := fs.String("format", "table", "table or json")
	protocol := fs.String("protocol", "", "a protocol file (default: the built-in protocol)")
	tmp := fs.String("tmp", "", "directory for temporary sort files of NDJSON input (default: the system's)")
	inputs, err := cmd.parseInterspersed(fs, args, stdout)
	if err != nil {
		return err
	}
	if *format != "table" && *format != "json" {
		return usagef("terminology report: --format must be table or json, not %q", *format)
	}
	if len(inputs) == 0 {
		return usagef("terminology report: give Bundle or NDJSON files or directories")
	}
	site, err := readSiteTerms(getenv)
	if err != nil {
		return fmt.Errorf("terminology report: %w", err)
	}
	fmt.Fprintln(stderr, "trialscreen terminology report:", site.summaryLine())
	proto, err := loadProtocol(*protocol, site)
	if err != nil {
		return err
	}
	rep := &terminologyReport{Inputs: inputs, Codes: []*unplacedCode{}, byKey: map[[4]string]*unplacedCode{}}
	shown := 0
	cfg := batch.Config{Protocol: proto, TempDir: *tmp, Report: func(p batch.Problem) {
		if shown < maxProblemsShown {
			fmt.Fprintf(stderr, "trialscreen: terminology report: %s\n", p)
		}
		shown++
	}}
	st, err := batch.Walk(ctx, cfg, batch.Files{Paths: inputs}, func(id string, rec *screening.Record) error {
		rep.Patients++
		us := proto.UnplacedRecords(rec)
		if len(us) > 0 {
			rep.WithUnplaced++
		}
		for _, u := range us {
			rep.Records++
			if len(u.Codes) == 0 {
				rep.add(proto, id, u.Type, screening.Coding{}, u.Text)
				continue
			}
			for _, c := range u.Codes {
				rep.add(proto, id, u.Type, c, u.Text)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("terminology report: %w", err)
	}
	rep.Unreadable, rep.Problems = st.Unscreened, st.Problems
	rep.Terminology = proto.Terminology()
	for _, c := range rep.Codes {
		c.Patients = len(c.patients)
	}
	slices.SortFunc(rep.Codes, func(a, b *unplacedCode) int {
		return cmp.Or(-cmp.Compare(a.Patients, b.Patients), -cmp.Compare(a.Resources, b.Resources),
			cmp.Compare(a.ResourceType, b.ResourceType), cmp.Compare(a.System, b.System), cmp.Compare(a.Code, b.Code), cmp.Compare(a.Text, b.Text))
	})
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return rep.writeTable(stdout)
}

// add counts one coding of an unplaced record of a patient.
func (r *terminologyReport) add(proto *screening.Protocol, patient, typ string, c screening.Coding, text string) {
	key := [4]string{typ, c.System, c.Code, ""}
	if c.System == "" && c.Code == "" {
		key[3] = text // records with no code are told apart by their text
	}
	u, ok := r.byKey[key]
	if !ok {
		u = &unplacedCode{ResourceType: typ, System: c.System, Code: c.Code, Text: text, Why: proto.UnplacedWhy(typ, c), patients: map[string]struct{}{}}
		r.byKey[key] = u
		r.Codes = append(r.Codes, u)
	}
	if u.Text == "" {
		u.Text = text
	}
	u.Resources++
	u.patients[patient] = struct{}{}
}

func (r *terminologyReport) writeTable(w io.Writer) error {
	fmt.Fprintf(w, "Patients read %d (not read %d, input problems %d); %d have records the engine cannot place (%d records)\n",
		r.Patients, r.Unreadable, r.Problems, r.WithUnplaced, r.Records)
	if t := r.Terminology; t != nil {
		fmt.Fprintf(w, "Terminology   drug table %s (%d codes), %d value sets, %d site maps, %d system aliases\n\n",
			t.DrugTable.Version, t.DrugTable.Rows, t.ValueSets, len(t.SiteMaps), t.SystemAliases)
	}
	if len(r.Codes) == 0 {
		fmt.Fprintln(w, "Every code the protocol reads was placed: nothing to map.")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PATIENTS\tRECORDS\tTYPE\tSYSTEM\tCODE\tTEXT\tWHY")
	for _, c := range r.Codes {
		fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\t%s\t%s\n", c.Patients, c.Resources, c.ResourceType, orDash(c.System), orDash(c.Code),
			orDash(truncate(oneLine(c.Text), 50)), c.Why)
	}
	return tw.Flush()
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
