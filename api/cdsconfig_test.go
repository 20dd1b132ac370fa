package api

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const cdsTestJWKSJSON = `{"keys":[{"kty":"EC","crv":"P-384","kid":"example-kid","use":"sig","alg":"ES384",
  "x":"46SDH7Znh821wblCBglA61sNE9ZrHYKKt3qRtRTmSXyOI_FIGBLWrWa0GPUkDCEk",
  "y":"XMcRuuoGW7CXjQdy-F5i3FeBE0x9hPLdeFdSoDd3ELmx404tLX0VRRcqzAsPhXcI"}]}`

func writeCDSConfig(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadCDSConfig(t *testing.T) {
	yamlFile := `
clients:
  - issuer: https://ehr.example.org
    jwks_url: https://ehr.example.org/.well-known/jwks.json
    fhir_servers:
      - https://ehr.example.org/fhir/r4
      - https://ehr.example.org/fhir/r4-replica
  - issuer: https://other-ehr.example.org
    jwks: ` + strings.ReplaceAll(cdsTestJWKSJSON, "\n", "") + `
`
	jsonFile := "{\n\t\"clients\": [\n\t\t{\"issuer\": \"https://ehr.example.org\", \"jwks_url\": \"http://127.0.0.1:8081/jwks\",\n\t\t \"fhir_servers\": [\"http://localhost:8103/fhir/R4\"]},\n\t\t{\"issuer\": \"https://b.example.org\", \"jwks\": " + cdsTestJWKSJSON + "}\n\t]\n}\n"
	t.Run("yaml", func(t *testing.T) {
		cfg, err := LoadCDSConfig(writeCDSConfig(t, "cds.yaml", yamlFile))
		if err != nil {
			t.Fatal(err)
		}
		if len(cfg.Clients) != 2 {
			t.Fatalf("%d clients", len(cfg.Clients))
		}
		a, b := cfg.Clients[0], cfg.Clients[1]
		if a.Issuer != "https://ehr.example.org" || a.JWKSURL != "https://ehr.example.org/.well-known/jwks.json" ||
			len(a.FHIRServers) != 2 || a.FHIRServers[1] != "https://ehr.example.org/fhir/r4-replica" || a.JWKS != nil {
			t.Errorf("client 0 = %+v", a)
		}
		if b.Issuer != "https://other-ehr.example.org" || b.JWKSURL != "" || !strings.Contains(string(b.JWKS), `"kid":"example-kid"`) {
			t.Errorf("client 1 = %+v", b)
		}
		if _, err := cdsParseJWKS(b.JWKS); err != nil {
			t.Errorf("inline JWKS re-encoded unreadably: %v", err)
		}
	})
	t.Run("json with tabs, loopback http", func(t *testing.T) {
		cfg, err := LoadCDSConfig(writeCDSConfig(t, "cds.json", jsonFile))
		if err != nil {
			t.Fatal(err)
		}
		if len(cfg.Clients) != 2 || cfg.Clients[0].FHIRServers[0] != "http://localhost:8103/fhir/R4" || len(cfg.Clients[1].JWKS) == 0 {
			t.Errorf("cfg = %+v", cfg)
		}
	})
}

// Every problem in a file is reported at once, each naming its field.
func TestLoadCDSConfigProblems(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    []string
	}{
		{
			name: "every field problem",
			content: `
clients:
  - jwks_url: https://a.example.org/jwks
  - issuer: https://b.example.org
  - issuer: https://c.example.org
    jwks_url: http://c.example.org/jwks
    fhir_servers: [/fhir, "ftp://c.example.org/fhir", "http://c.example.org/fhir", "https://c.example.org/fhir?x=1"]
  - issuer: https://c.example.org
    jwks_url: https://c.example.org/jwks
    jwks: {keys: []}
  - issuer: https://d.example.org
    jwks: {keys: [{kty: oct, k: c2VjcmV0}]}
  - issuer: https://e.example.org
    jwks: {keys: []}
  - issuer: https://f.example.org
    jwks_url: https://user:secret@f.example.org/jwks
`,
			want: []string{
				"clients[0].issuer: required",
				"clients[1]: needs jwks_url or jwks",
				`clients[2].jwks_url: "http://c.example.org/jwks" is plain http`,
				`clients[2].fhir_servers[0]: "/fhir" is not an absolute URL`,
				`clients[2].fhir_servers[1]: "ftp://c.example.org/fhir" has scheme "ftp"`,
				`clients[2].fhir_servers[2]: "http://c.example.org/fhir" is plain http`,
				`clients[2].fhir_servers[3]: "https://c.example.org/fhir?x=1" has a query`,
				`clients[3].issuer: "https://c.example.org" is already clients[2].issuer`,
				"clients[3]: give jwks_url or jwks, not both",
				`clients[4].jwks: keys[0]: kty "oct" is a symmetric key`,
				"clients[5].jwks: the JWK Set has no keys",
				`clients[6].jwks_url: "https://user:xxxxx@f.example.org/jwks" carries credentials`,
			},
		},
		{name: "no clients", content: "clients: []\n", want: []string{"clients: no EHR is configured"}},
		{name: "empty file", content: "", want: []string{"the file is empty"}},
		{name: "unknown field", content: "clients:\n  - issuer: x\n    jwks_uri: https://x/jwks\n", want: []string{"field jwks_uri not found"}},
		{name: "misspelt top level", content: "client: []\n", want: []string{"field client not found"}},
		{name: "wrong type", content: "clients:\n  - issuer: [a, b]\n", want: []string{"cannot unmarshal !!seq into string"}},
		{name: "not YAML", content: "clients: [\n", want: []string{"not YAML or JSON"}},
		{name: "broken JSON", content: `{"clients": [{"issuer": "x",}`, want: []string{"not YAML or JSON"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeCDSConfig(t, "cds.yaml", tt.content)
			_, err := LoadCDSConfig(path)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "cds config "+path+": ") {
				t.Errorf("error does not name the file: %s", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error lacks %q:\n%s", w, msg)
				}
			}
			if strings.Contains(msg, "secret@") {
				t.Errorf("error shows a password:\n%s", msg)
			}
		})
	}
	if _, err := LoadCDSConfig(filepath.Join(t.TempDir(), "missing.yaml")); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing file: %v", err)
	}
}

// A client configured in code (not from a file) with a bad key set is left out: its
// calls are refused, the others still work, and the problem is logged.
func TestCDSConfigBadClientRefused(t *testing.T) {
	good := newCDSTestKeyEC(t, "k1")
	v := newCDSVerifier(CDSConfig{Clients: []CDSClient{
		{Issuer: "https://bad.example.org", JWKS: []byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`)},
		{Issuer: cdsTestIssuer, JWKS: cdsTestJWKS(good)},
	}}, cdsTestAudience, fixedClock(testNow), cdsDiscardLogger())
	if _, ok := v.clients["https://bad.example.org"]; ok {
		t.Error("a client with a symmetric key was kept")
	}
	if _, ok := v.clients[cdsTestIssuer]; !ok {
		t.Error("the good client was dropped")
	}
	if err := (CDSConfig{Clients: []CDSClient{{Issuer: "x", JWKS: []byte(`{"keys":[{"kty":"oct"}]}`)}}}).Validate(); err == nil ||
		!strings.Contains(err.Error(), `clients[0].jwks: keys[0]: kty "oct"`) {
		t.Errorf("Validate = %v", err)
	}
}

func cdsDiscardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
