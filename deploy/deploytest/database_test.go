package deploytest

import (
	"slices"
	"strconv"
	"testing"
)

// The shared PostgreSQL of deploy/kubernetes/database.yaml: a CloudNativePG Cluster,
// whose operator creates the Secret <cluster>-app holding the connection URI.
const (
	databaseCluster = "trialscreen-db"
	databaseSecret  = databaseCluster + "-app"
	// poolPerReplica is the most connections one replica opens (store/postgres.go).
	poolPerReplica = 16
)

// cnpgSelects says whether a podSelector picks the database Cluster's pods by the label
// the operator gives them, and nothing wider.
func cnpgSelects(sel any) bool {
	m, _ := get(sel, "matchLabels").(map[string]any)
	return len(m) == 1 && m["cnpg.io/cluster"] == databaseCluster && len(list(sel, "matchExpressions")) == 0
}

// checkDatabaseEgress: the server's rule to the database reaches the Cluster's pods,
// in this namespace, on 5432 only.
func checkDatabaseEgress(t *testing.T, i int, rule any) {
	t.Helper()
	for _, d := range list(rule, "to") {
		if get(d, "namespaceSelector") != nil || get(d, "ipBlock") != nil || !cnpgSelects(get(d, "podSelector")) {
			t.Errorf("egress rule %d: a destination %v other than the %s Cluster's pods", i, d, databaseCluster)
		}
	}
	for _, p := range list(rule, "ports") {
		if n, _ := num(p, "port"); n != 5432 || str(p, "protocol") != "TCP" {
			t.Errorf("egress rule %d: port %v/%s; the database is reached on 5432/TCP only", i, get(p, "port"), str(p, "protocol"))
		}
	}
}

// TestDatabaseCluster: the replicas share a PostgreSQL that survives a node (a primary
// and standbys on different nodes), with room for every replica's pool, and the
// Deployment reads its URL from the operator's Secret, never from a value in git.
func TestDatabaseCluster(t *testing.T) {
	ms := manifests(t)
	c := one(t, ms, "Cluster", databaseCluster)
	if str(c.obj, "apiVersion") != "postgresql.cnpg.io/v1" {
		t.Errorf("Cluster apiVersion %s, want postgresql.cnpg.io/v1", str(c.obj, "apiVersion"))
	}
	if n, _ := num(c.obj, "spec", "instances"); n < 2 {
		t.Errorf("Cluster instances %d: without a standby there is no failover", n)
	}
	if get(c.obj, "spec", "affinity", "enablePodAntiAffinity") != true {
		t.Error("the Cluster's instances may share a node: one node failure takes the primary and its standby")
	}
	if str(c.obj, "spec", "bootstrap", "initdb", "database") == "" || str(c.obj, "spec", "bootstrap", "initdb", "owner") == "" {
		t.Error("bootstrap.initdb names no database and owner: the operator would create no app Secret for them")
	}
	if str(c.obj, "spec", "bootstrap", "initdb", "secret", "name") != "" {
		t.Error("the owner's password comes from a Secret in the manifests: let the operator generate it")
	}
	if str(c.obj, "spec", "storage", "size") == "" {
		t.Error("the Cluster has no storage size")
	}
	hpa := one(t, ms, "HorizontalPodAutoscaler", "trialscreen")
	maxR, _ := num(hpa.obj, "spec", "maxReplicas")
	mc, err := strconv.Atoi(str(c.obj, "spec", "postgresql", "parameters", "max_connections"))
	if err != nil {
		mc = 100 // PostgreSQL's default
	}
	if mc < maxR*poolPerReplica+10 {
		t.Errorf("max_connections %d: %d replicas (the HPA's maximum) open up to %d, and the operator and standbys need some", mc, maxR, maxR*poolPerReplica)
	}

	d := one(t, ms, "Deployment", "trialscreen")
	var found bool
	for _, e := range list(d.obj, "spec", "template", "spec", "containers", "0", "env") {
		if str(e, "name") != "TRIALSCREEN_DATABASE_URL" {
			continue
		}
		found = true
		if get(e, "value") != nil {
			t.Error("TRIALSCREEN_DATABASE_URL is a plain value: its password belongs in a Secret")
		}
		if ref := get(e, "valueFrom", "secretKeyRef"); str(ref, "name") != databaseSecret || str(ref, "key") != "uri" || get(ref, "optional") == true {
			t.Errorf("TRIALSCREEN_DATABASE_URL comes from %v, want the operator's Secret %s, key uri, not optional", ref, databaseSecret)
		}
	}
	if !found {
		t.Error("the Deployment sets no TRIALSCREEN_DATABASE_URL: each replica would keep its own SQLite file")
	}
}

// TestDatabaseNetworkPolicy: the database takes connections on 5432 from the server's
// pods, and 5432 and 8000 from its own instances and the operator's namespace only.
func TestDatabaseNetworkPolicy(t *testing.T) {
	ms := manifests(t)
	np := one(t, ms, "NetworkPolicy", databaseCluster)
	if !cnpgSelects(get(np.obj, "spec", "podSelector")) {
		t.Errorf("the policy selects %v, not the %s Cluster's pods", get(np.obj, "spec", "podSelector"), databaseCluster)
	}
	if !slices.Contains(list(np.obj, "spec", "policyTypes"), any("Ingress")) {
		t.Error("policyTypes lacks Ingress: the database would take connections from anywhere")
	}
	server := false
	for i, r := range list(np.obj, "spec", "ingress") {
		from, ports := list(r, "from"), list(r, "ports")
		if len(from) == 0 || len(ports) == 0 {
			t.Errorf("ingress rule %d has no sources or no ports: it opens the database to every pod or port", i)
			continue
		}
		for _, p := range ports {
			n, _ := num(p, "port")
			for _, f := range from {
				isServer := get(f, "namespaceSelector") == nil && get(f, "ipBlock") == nil &&
					str(f, "podSelector", "matchLabels", "app.kubernetes.io/name") == "trialscreen" &&
					str(f, "podSelector", "matchLabels", "app.kubernetes.io/component") == "server"
				isPeer := get(f, "namespaceSelector") == nil && get(f, "ipBlock") == nil && cnpgSelects(get(f, "podSelector"))
				isOperator := get(f, "ipBlock") == nil && str(f, "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name") == "cnpg-system"
				switch {
				case n == 5432 && isServer:
					server = true
				case (n == 5432 || n == 8000) && (isPeer || isOperator):
					// CloudNativePG: the operator reaches every pod on 8000 and 5432,
					// and the pods reach each other.
				default:
					t.Errorf("ingress rule %d: port %v from %v; want 5432 from the server, 5432 or 8000 from the Cluster's own pods or the operator", i, get(p, "port"), f)
				}
			}
		}
	}
	if !server {
		t.Error("no ingress rule lets the server's pods reach the database on 5432")
	}
}
