// Package protocols ships the trial protocols trialscreen knows, as data files.
package protocols

import (
	_ "embed"
	"sync"

	"github.com/trialscreen/trialscreen/screening"
)

// AntiBCMA is the anti-BCMA CAR-T protocol file (YAML), as shipped.
//
//go:embed anti-bcma-cart-rrmm.yaml
var AntiBCMA []byte

// LoadDefault compiles the shipped anti-BCMA CAR-T protocol with the shipped vocabulary.
// It is compiled once per process (about 60 ms: its codesets hold the published value set
// expansions) and shared: a compiled Protocol is only read.
func LoadDefault() (*screening.Protocol, error) {
	defaultOnce.Do(func() { defaultProto, defaultErr = screening.LoadProtocol(AntiBCMA, screening.Options{}) })
	return defaultProto, defaultErr
}

// Load compiles the shipped anti-BCMA CAR-T protocol with opts (a site's vocabulary,
// say). Each call compiles anew: a process calls it once at start-up.
func Load(opts screening.Options) (*screening.Protocol, error) {
	if opts.Terminology == nil && opts.Vocabulary == nil {
		return LoadDefault()
	}
	return screening.LoadProtocol(AntiBCMA, opts)
}

var (
	defaultOnce  sync.Once
	defaultProto *screening.Protocol
	defaultErr   error
)
