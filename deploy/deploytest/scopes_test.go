package deploytest

import (
	"slices"
	"strings"
	"testing"

	"github.com/trialscreen/trialscreen/protocols"
	"github.com/trialscreen/trialscreen/screening"
)

// The SMART scopes the ConfigMap asks for cover every resource type the protocol reads:
// a type left out is refused with 403 on every search, and its criteria are unknown for
// every patient.
func TestSMARTScopesCoverWhatTheProtocolReads(t *testing.T) {
	ms := manifests(t)
	cm := one(t, ms, "ConfigMap", "trialscreen-config")
	scopes := strings.Fields(str(cm.obj, "data", "TRIALSCREEN_SMART_SCOPES"))
	p, err := protocols.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range append([]string{screening.TypePatient}, p.NeededTypes()...) {
		if !slices.Contains(scopes, "system/"+typ+".rs") && !slices.Contains(scopes, "system/"+typ+".read") {
			t.Errorf("TRIALSCREEN_SMART_SCOPES lacks system/%s.rs: the protocol reads %s", typ, typ)
		}
	}
	for _, s := range scopes {
		if !strings.HasSuffix(s, ".rs") && !strings.HasSuffix(s, ".read") {
			t.Errorf("scope %s is not read-only", s)
		}
	}
}
