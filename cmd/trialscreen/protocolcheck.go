package main

import (
	"fmt"
	"io"
	"os"

	"github.com/trialscreen/trialscreen/screening"
)

// protocolCheckCmd validates a protocol file and names every problem in it.
func protocolCheckCmd(args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return usagef("protocol check: exactly one FILE is required")
	}
	data, err := os.ReadFile(args[0])
	if err != nil {
		return fmt.Errorf("protocol check: %w", err)
	}
	p, err := screening.LoadProtocol(data, screening.Options{})
	if err != nil {
		return fmt.Errorf("protocol check %s: invalid:\n%w", args[0], err)
	}
	fmt.Fprintf(stdout, "%s: ok: protocol %s version %s, %d criteria\n", args[0], p.Info.ID, p.Info.Version, len(p.CriterionIDs()))
	return nil
}
