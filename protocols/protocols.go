// Package protocols ships the trial protocols trialscreen knows, as data files.
package protocols

import (
	_ "embed"

	"github.com/trialscreen/trialscreen/screening"
)

// AntiBCMA is the anti-BCMA CAR-T protocol file (YAML), as shipped.
//
//go:embed anti-bcma-cart-rrmm.yaml
var AntiBCMA []byte

// LoadDefault compiles the shipped anti-BCMA CAR-T protocol.
func LoadDefault() (*screening.Protocol, error) {
	return screening.LoadProtocol(AntiBCMA, screening.Options{})
}
