package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/trialscreen/trialscreen/demo"
	"github.com/trialscreen/trialscreen/fhirbundle"
	"github.com/trialscreen/trialscreen/fhirclient"
	"github.com/trialscreen/trialscreen/internal/fhirid"
	"github.com/trialscreen/trialscreen/screening"
)

type screenFlags struct {
	bundle, demo, patient, protocol string
	asOf, ld, format, tz            string
}

// fetchTimeout bounds one patient's fetch from a FHIR server.
const fetchTimeout = 60 * time.Second

func screenCmd(ctx context.Context, args []string, getenv func(string) string, now func() time.Time, stdout, stderr io.Writer) error {
	var f screenFlags
	cmd := commandNamed("screen")
	fs := cmd.flagSet()
	fs.StringVar(&f.bundle, "bundle", "", "FHIR R4 Bundle file holding one patient")
	fs.StringVar(&f.demo, "demo", "", "a built-in demo patient (list: --demo list)")
	fs.StringVar(&f.patient, "patient", "", "a patient id on the configured FHIR server, or the patient to pick in a multi-patient bundle")
	fs.StringVar(&f.protocol, "protocol", "", "a protocol file (default: the built-in anti-BCMA CAR-T protocol)")
	fs.StringVar(&f.asOf, "as-of", "", "evaluation instant, RFC3339 (default: now; demo patients: "+demo.AsOf().Format(time.RFC3339)+")")
	fs.StringVar(&f.ld, "lymphodepletion-date", "", "planned lymphodepletion date, YYYY-MM-DD")
	fs.StringVar(&f.format, "format", "table", "json or table")
	fs.StringVar(&f.tz, "timezone", "UTC", "IANA time zone for calendar dates")
	if err := cmd.parse(fs, args, stdout); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("screen: unexpected argument %q", fs.Arg(0))
	}
	if f.demo == "list" {
		fmt.Fprintln(stdout, strings.Join(demo.Names(), "\n"))
		return nil
	}
	settings, err := f.settings(now())
	if err != nil {
		return err
	}
	if f.format != "json" && f.format != "table" {
		return usagef("screen: --format must be json or table, not %q", f.format)
	}
	site, err := readSiteTerms(getenv)
	if err != nil {
		return fmt.Errorf("screen: %w", err)
	}
	if site.custom() {
		fmt.Fprintln(stderr, "trialscreen:", site.summaryLine())
	}
	var data []byte
	switch {
	case f.bundle != "" && f.demo != "":
		return usagef("screen: give --bundle or --demo, not both")
	case f.patient != "" && f.bundle == "" && f.demo == "":
		return screenFromServer(ctx, f, settings, site, getenv, stdout)
	case f.bundle != "":
		if data, err = os.ReadFile(f.bundle); err != nil {
			return fmt.Errorf("screen: %w", err)
		}
	case f.demo != "":
		if data, err = demo.Bundle(f.demo); err != nil {
			return usagef("screen: %v", err)
		}
		if f.asOf == "" {
			settings.AsOf = demo.AsOf()
		}
	default:
		return usagef("screen: --bundle FILE or --demo NAME is required")
	}
	proto, err := loadProtocol(f.protocol, site)
	if err != nil {
		return err
	}
	maxEntries, err := cliMaxEntries(getenv)
	if err != nil {
		return err
	}
	reader, err := fhirbundle.NewReader(proto, fhirbundle.MaxEntries(maxEntries))
	if err != nil {
		return err
	}
	rec, err := reader.ReadBundle(data, f.patient)
	if err != nil {
		name := f.bundle
		if name == "" {
			name = "demo " + f.demo
		}
		return fmt.Errorf("screen %s: %w", name, err)
	}
	if err := f.checkBirth(rec, settings); err != nil {
		return err
	}
	return write(stdout, f.format, proto.Evaluate(rec, settings))
}

// screenFromServer screens a patient fetched from the configured FHIR server.
func screenFromServer(ctx context.Context, f screenFlags, settings screening.Settings, site *siteTerms, getenv func(string) string, stdout io.Writer) error {
	if !fhirclient.ValidID(f.patient) {
		// Not quoted: it may identify a patient. "." and ".." would be other paths.
		return usagef("screen: --patient is not a FHIR id (%s)", fhirid.Rule)
	}
	proto, err := loadProtocol(f.protocol, site)
	if err != nil {
		return err
	}
	maxEntries, err := cliMaxEntries(getenv)
	if err != nil {
		return err
	}
	src, _, closeIdle, err := fhirSource(getenv, proto, nil, cliFHIRLimits(maxEntries))
	if err != nil {
		return err
	}
	defer closeIdle()
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	rec, err := src.Record(ctx, f.patient)
	if err != nil {
		return fmt.Errorf("screen: %w", err)
	}
	if err := f.checkBirth(rec, settings); err != nil {
		return err
	}
	return write(stdout, f.format, proto.Evaluate(rec, settings))
}

// checkBirth refuses a --as-of before the patient's birth date (screening.CheckBirth).
// Without --as-of the instant is now (or the demo instant), not the user's choice, and
// the record is screened as it is.
func (f screenFlags) checkBirth(rec *screening.Record, settings screening.Settings) error {
	if f.asOf == "" {
		return nil
	}
	if err := screening.CheckBirth(rec, settings); err != nil {
		return usagef("screen: --as-of %v", err)
	}
	return nil
}

// write prints a verdict document as JSON (the REST API's document) or as a table.
func write(w io.Writer, format string, result *screening.Screening) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false) // thresholds such as ">= 60" stay readable
		enc.SetIndent("", "  ")
		return enc.Encode(result)
	}
	return writeTable(w, result)
}

// settings turns the flags into evaluation settings, naming any bad value; without
// --as-of they are as of now.
func (f screenFlags) settings(now time.Time) (screening.Settings, error) {
	loc, err := time.LoadLocation(f.tz)
	if err != nil {
		return screening.Settings{}, usagef("screen: --timezone %q is not an IANA time zone", f.tz)
	}
	s := screening.Settings{AsOf: now.UTC(), Location: loc}
	if f.asOf != "" {
		t, err := time.Parse(time.RFC3339, f.asOf)
		if err != nil {
			return s, usagef("screen: --as-of %q is not an RFC3339 instant (e.g. 2026-11-20T12:00:00Z)", f.asOf)
		}
		if err := screening.CheckAsOf(t); err != nil {
			return s, usagef("screen: --as-of %v", err)
		}
		s.AsOf = t
	}
	if f.ld != "" {
		t, err := time.ParseInLocation("2006-01-02", f.ld, loc)
		if err != nil {
			return s, usagef("screen: --lymphodepletion-date %q is not a date (YYYY-MM-DD)", f.ld)
		}
		s.LymphodepletionDate = t
	}
	return s, nil
}
