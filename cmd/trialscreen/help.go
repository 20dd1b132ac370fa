package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// command is one subcommand as its help describes it (the table is in commands.go).
type command struct {
	name    string // as typed after trialscreen: "audit export"
	args    string // the rest of its usage line
	summary string // one line, for the program's usage
	about   string // more, for its own --help only
}

// errHelpShown ends a command whose help was asked for (-h, --help): run exits 0.
var errHelpShown = errors.New("help shown")

// flagSet is the command's flag set. It prints nothing itself: help goes to stdout
// through parse, errors to stderr through run.
func (c command) flagSet() *flag.FlagSet {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parse parses args, flags first. On -h or --help it prints the command's help to
// stdout and returns errHelpShown; any other mistake is a usage error naming the command.
func (c command) parse(fs *flag.FlagSet, args []string, stdout io.Writer) error {
	return c.parsed(fs, fs.Parse(args), stdout)
}

// parseInterspersed is parse for commands whose flags may follow their arguments; it
// returns the arguments.
func (c command) parseInterspersed(fs *flag.FlagSet, args []string, stdout io.Writer) ([]string, error) {
	pos, err := parseInterspersed(fs, args)
	return pos, c.parsed(fs, err, stdout)
}

func (c command) parsed(fs *flag.FlagSet, err error, stdout io.Writer) error {
	switch {
	case errors.Is(err, flag.ErrHelp):
		c.writeHelp(stdout, fs)
		return errHelpShown
	case err != nil:
		return usagef("%s: %v", c.name, err)
	}
	return nil
}

// noFlags parses the arguments of a command that has no flags, so that its -h and
// --help show help instead of being taken for a file or refused.
func (c command) noFlags(args []string, stdout io.Writer) ([]string, error) {
	fs := c.flagSet()
	if err := c.parse(fs, args, stdout); err != nil {
		return nil, err
	}
	return fs.Args(), nil
}

// writeHelp prints the usage line, what the command does and each flag with its
// meaning and default.
func (c command) writeHelp(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "usage: %s\n\n%s\n", c.usageLine(), c.summary)
	if c.about != "" {
		fmt.Fprintf(w, "\n%s\n", c.about)
	}
	n := 0
	fs.VisitAll(func(f *flag.Flag) {
		if n == 0 {
			fmt.Fprint(w, "\nflags:\n")
		}
		n++
		value, meaning := flag.UnquoteUsage(f)
		dashes := "--"
		if len(f.Name) == 1 {
			dashes = "-"
		}
		line := "  " + dashes + f.Name
		if value != "" {
			line += " " + value
		}
		fmt.Fprintf(w, "%s\n      %s", line, meaning)
		if def := f.DefValue; def != "" && def != "false" && def != "0" && !strings.Contains(meaning, "default") {
			fmt.Fprintf(w, " (default %s)", def)
		}
		fmt.Fprintln(w)
	})
	if n == 0 {
		fmt.Fprint(w, "\nflags: none\n")
	}
}

func (c command) usageLine() string {
	return strings.TrimSpace("trialscreen " + c.name + " " + c.args)
}

// writeUsage prints the program's usage: every command (under prefix, e.g. "audit ",
// or all of them) with what it does.
func writeUsage(w io.Writer, prefix string) {
	fmt.Fprintln(w, "usage:")
	for _, c := range commands {
		if strings.HasPrefix(c.name+" ", prefix) {
			fmt.Fprintf(w, "  %s\n      %s\n", c.usageLine(), c.summary)
		}
	}
	if prefix == "" {
		fmt.Fprint(w, "\nEach command's --help (e.g. trialscreen screen --help) lists its flags.\n")
		fmt.Fprint(w, siteTermsHelp)
	}
}

// isHelp reports whether a command group ("audit", "protocol") was asked for its help.
func isHelp(arg string) bool {
	return arg == "-h" || arg == "--help" || arg == "-help" || arg == "help"
}
