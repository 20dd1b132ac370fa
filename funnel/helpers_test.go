package funnel

import (
	"bytes"
	"context"
	"testing"

	"github.com/trialscreen/trialscreen/demo"
	"github.com/trialscreen/trialscreen/protocols"
	"github.com/trialscreen/trialscreen/screening"
)

func defaultProtocol(t testing.TB) *screening.Protocol {
	t.Helper()
	p, err := protocols.LoadDefault()
	if err != nil {
		t.Fatalf("load protocol: %v", err)
	}
	return p
}

// editedProtocol loads the shipped protocol with one piece of its text replaced.
func editedProtocol(t testing.TB, old, new string) *screening.Protocol {
	t.Helper()
	if !bytes.Contains(protocols.AntiBCMA, []byte(old)) {
		t.Fatalf("the protocol file has no %q", old)
	}
	p, err := screening.LoadProtocol(bytes.Replace(protocols.AntiBCMA, []byte(old), []byte(new), 1), screening.Options{})
	if err != nil {
		t.Fatalf("load edited protocol: %v", err)
	}
	return p
}

// demoScreenings screens the four demo patients as the service does.
func demoScreenings(t testing.TB, p *screening.Protocol) []*screening.Screening {
	t.Helper()
	src, err := demo.NewSource(p)
	if err != nil {
		t.Fatal(err)
	}
	var out []*screening.Screening
	for _, id := range demo.PatientIDs() {
		rec, err := src.Record(context.Background(), id)
		if err != nil {
			t.Fatalf("demo record %s: %v", id, err)
		}
		out = append(out, p.Evaluate(rec, screening.Settings{AsOf: demo.AsOf()}))
	}
	return out
}

// outcome is one criterion's hand-set result in a hand-built document.
type outcome struct {
	out    screening.Outcome
	reason screening.Reason
}

// handDoc builds a verdict document of protocol p where every criterion passes except
// those in set; the verdict is given by hand, not computed.
func handDoc(p *screening.Protocol, v screening.Verdict, set map[string]outcome) *screening.Screening {
	s := &screening.Screening{
		Verdict:  v,
		Protocol: screening.ProtocolRef{ID: p.Info.ID, Version: p.Info.Version, Title: p.Info.Title},
	}
	for _, id := range p.CriterionIDs() {
		r := screening.Result{ID: id, Outcome: screening.Pass, Reason: screening.ReasonMet}
		if o, ok := set[id]; ok {
			r.Outcome, r.Reason = o.out, o.reason
		}
		s.Criteria = append(s.Criteria, r)
	}
	return s
}

func jsonOf(t testing.TB, f *Funnel) string {
	t.Helper()
	var b bytes.Buffer
	if err := f.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func funnelOf(p *screening.Protocol, docs []*screening.Screening) *Funnel {
	f := New(p)
	for _, d := range docs {
		f.Add(d)
	}
	return f
}
