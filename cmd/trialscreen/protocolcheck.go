package main

import (
	"fmt"
	"io"
	"os"

	"github.com/trialscreen/trialscreen/screening"
)

// protocolCheckCmd validates a protocol file and names every problem in it.
// It compiles with the site's terminology (TRIALSCREEN_DRUG_INDEX and the others) when it
// is configured, so that a site checks the two together before go-live.
func protocolCheckCmd(args []string, getenv func(string) string, stdout io.Writer) error {
	args, err := commandNamed("protocol check").noFlags(args, stdout)
	if err != nil {
		return err
	}
	if len(args) != 1 {
		return usagef("protocol check: exactly one FILE is required")
	}
	data, err := os.ReadFile(args[0])
	if err != nil {
		return fmt.Errorf("protocol check: %w", err)
	}
	site, err := readSiteTerms(getenv)
	if err != nil {
		return fmt.Errorf("protocol check: %w", err)
	}
	var opts screening.Options
	if site.custom() {
		opts.Vocabulary = site.voc
		fmt.Fprintln(stdout, site.summaryLine())
	}
	p, err := screening.LoadProtocol(data, opts)
	if err != nil {
		return fmt.Errorf("protocol check %s: invalid:\n%w", args[0], err)
	}
	fmt.Fprintf(stdout, "%s: ok: protocol %s version %s, %d criteria\n", args[0], p.Info.ID, p.Info.Version, len(p.CriterionIDs()))
	return nil
}
