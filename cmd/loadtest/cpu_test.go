package main

import (
	"strings"
	"testing"
)

func TestParseStat(t *testing.T) {
	// proc(5): pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt
	// cmajflt utime stime ...; the command name may hold spaces and parentheses.
	line := "4242 (trial (screen) x) S 1 4242 4242 0 -1 4194560 1200 0 3 0 731 95 0 0 20 0 9 0 12345"
	got, err := parseStat(line)
	if err != nil || got != 731+95 {
		t.Errorf("parseStat = %d, %v; want 826", got, err)
	}
	for _, c := range []struct{ name, line, want string }{
		{"no command name", "4242 S 1", "no command name"},
		{"cut short", "4242 (x) S 1 2 3", "fields after the command name"},
		{"utime not a number", "4242 (x) S 1 4242 4242 0 -1 4194560 1200 0 3 0 lots 95", `utime "lots"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := parseStat(c.line); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v; want one containing %q", err, c.want)
			}
		})
	}
}

// The tool's own CPU time can be read, and the clock rate is known or said to be assumed.
func TestCPUTicksOfSelf(t *testing.T) {
	if _, err := cpuTicks("self"); err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	if c := clockTicks(); c.perSecond <= 0 {
		t.Errorf("clock ticks %+v", c)
	}
	if _, err := cpuTicks("0"); err == nil || !strings.Contains(err.Error(), "Linux /proc only") {
		t.Errorf("a process that does not exist: error %v", err)
	}
}
