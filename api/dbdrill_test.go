package api

import (
	"context"
	"net/url"
	"testing"

	"go.uber.org/goleak"

	"github.com/trialscreen/trialscreen/internal/faultproxy"
	"github.com/trialscreen/trialscreen/internal/pgtest"
	"github.com/trialscreen/trialscreen/store"
)

// dbFault is one way a real PostgreSQL server fails under the service, and its repair.
type dbFault struct {
	name         string
	break_, heal func(t *testing.T, c *pgtest.Cluster, p *faultproxy.Proxy)
}

var dbFaults = []dbFault{
	{"stopped", // pg_ctl stop -m fast: the server ends its connections and is gone
		func(t *testing.T, c *pgtest.Cluster, _ *faultproxy.Proxy) { c.Stop(t) },
		func(t *testing.T, c *pgtest.Cluster, _ *faultproxy.Proxy) { c.Start(t) }},
	{"slow", // every packet delayed far past the store timeout
		func(t *testing.T, _ *pgtest.Cluster, p *faultproxy.Proxy) { p.Slow(3 * drillStoreTimeout) },
		func(t *testing.T, _ *pgtest.Cluster, p *faultproxy.Proxy) { healProxy(t, p) }},
	{"refusing", // open connections cut, new ones refused
		func(t *testing.T, _ *pgtest.Cluster, p *faultproxy.Proxy) { p.Refuse() },
		func(t *testing.T, _ *pgtest.Cluster, p *faultproxy.Proxy) { healProxy(t, p) }},
}

func healProxy(t *testing.T, p *faultproxy.Proxy) {
	t.Helper()
	if err := p.Heal(); err != nil {
		t.Fatalf("heal the proxy: %v", err)
	}
}

// throughProxy is a database URL with the proxy's address in place of the server's.
func throughProxy(t *testing.T, dbURL string, p *faultproxy.Proxy) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = p.Addr()
	return u.String()
}

// Fault drills against a real PostgreSQL server: the database stopped (pg_ctl), slow or
// refusing connections (a proxy in front of it) while REST and CDS screenings are
// answered, a shared batch runs and audit records are written. During the fault every
// screening answers the verdict a service without a store answers, saying it was not
// stored; after the repair, without a restart, screenings are stored again, the batch
// finishes with every patient's result once and the verdicts a store-less service gives,
// every audit record in the sinks is in the table once (chained), and no goroutine is
// left behind.
func TestDatabaseFaultDrills(t *testing.T) {
	cluster := pgtest.StartCluster(t)
	base := newDrillBaseline(t)
	for _, fault := range dbFaults {
		t.Run(fault.name, func(t *testing.T) {
			ignore := goleak.IgnoreCurrent()
			proxy, err := faultproxy.Start(cluster.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer proxy.Close()
			clock := &leaseClock{}
			st, err := store.Open(context.Background(), store.Config{DatabaseURL: throughProxy(t, cluster.Database(t), proxy), Now: clock.Now})
			if err != nil {
				t.Fatalf("store.Open: %v", err)
			}
			defer st.Close()
			runDrill(t, base, st, clock, true, func() { fault.break_(t, cluster, proxy) }, func() { fault.heal(t, cluster, proxy) })
			_ = st.Close()
			proxy.Close()
			goleak.VerifyNone(t, ignore)
		})
	}
}
