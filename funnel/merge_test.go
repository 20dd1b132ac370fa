package funnel

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMergeOfHalvesEqualsOneFunnel(t *testing.T) {
	p := defaultProtocol(t)
	docs := append(demoScreenings(t, p), fivePatients(p)...)
	bad := fivePatients(p)[0]
	bad.Protocol.Version = "0.9"
	docs = append(docs, bad) // skipped counts merge too
	want := jsonOf(t, funnelOf(p, docs))
	for split := 0; split <= len(docs); split++ {
		a, b := funnelOf(p, docs[:split]), funnelOf(p, docs[split:])
		if err := a.Merge(b); err != nil {
			t.Fatalf("split at %d: %v", split, err)
		}
		if got := jsonOf(t, a); got != want {
			t.Fatalf("split at %d: merged report differs (-one +merged):\n%s", split, cmp.Diff(want, got))
		}
	}
	// Merging in the other order gives the same bytes as well.
	a, b := funnelOf(p, docs[:3]), funnelOf(p, docs[3:])
	if err := b.Merge(a); err != nil {
		t.Fatal(err)
	}
	if got := jsonOf(t, b); got != want {
		t.Errorf("reverse merge differs:\n%s", cmp.Diff(want, got))
	}
}

func TestMergeRefused(t *testing.T) {
	p := defaultProtocol(t)
	self := New(p)
	tests := []struct {
		name  string
		other *Funnel
		into  *Funnel
		want  string
	}{
		{"other protocol id", New(editedProtocol(t, "id: anti-bcma-cart-rrmm", "id: other-trial")), New(p),
			`funnel: cannot merge a funnel for protocol "other-trial" version "1.0.0" into one for "anti-bcma-cart-rrmm" version "1.0.0"`},
		{"other protocol version", New(editedProtocol(t, `version: "1.0.0"`, `version: "1.1.0"`)), New(p),
			`funnel: cannot merge a funnel for protocol "anti-bcma-cart-rrmm" version "1.1.0" into one for "anti-bcma-cart-rrmm" version "1.0.0"`},
		{"same id and version, other criteria", New(editedProtocol(t, "- id: ecog\n", "- id: ecog-score\n")), New(p),
			`funnel: cannot merge: protocol "anti-bcma-cart-rrmm" version "1.0.0" has different criteria in the two funnels`},
		{"itself", self, self, "funnel: cannot merge a funnel into itself"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.into.Add(handDoc(p, "potentially-eligible", nil))
			before := jsonOf(t, tc.into)
			err := tc.into.Merge(tc.other)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("error\n got %v\nwant %s", err, tc.want)
			}
			if after := jsonOf(t, tc.into); after != before {
				t.Errorf("a refused merge changed the funnel:\n%s", cmp.Diff(before, after))
			}
		})
	}
}
