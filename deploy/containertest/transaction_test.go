package containertest

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/trialscreen/trialscreen/demo"
)

// The HAPI path loads the demo patients by transactions; this needs no Docker.
func TestTransactionOfDemoBundle(t *testing.T) {
	b, err := demo.Bundle("candidate")
	if err != nil {
		t.Fatal(err)
	}
	tx, err := transactionOf(b)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Type  string
		Entry []struct {
			Resource struct{ ResourceType, ID string }
			Request  struct{ Method, URL string }
		}
	}
	if err := json.Unmarshal(tx, &got); err != nil {
		t.Fatal(err)
	}
	if got.Type != "transaction" || len(got.Entry) != strings.Count(string(b), `"fullUrl"`) {
		t.Fatalf("type %q with %d entries; want a transaction with every entry", got.Type, len(got.Entry))
	}
	for _, e := range got.Entry {
		if want := e.Resource.ResourceType + "/" + e.Resource.ID; e.Request.Method != "PUT" || e.Request.URL != want {
			t.Errorf("request %s %s, want PUT %s", e.Request.Method, e.Request.URL, want)
		}
	}
}

func TestTransactionOfRefuses(t *testing.T) {
	cases := []struct{ name, bundle, wantErr string }{
		{"not JSON", `{`, "not a Bundle: unexpected end of JSON input"},
		{"no entries", `{"resourceType":"Bundle","type":"collection"}`, "the Bundle has no entries"},
		{"a resource without id", `{"entry":[{"resource":{"resourceType":"Patient"}}]}`, "entry 0: a resource with a type and an id is needed to PUT it"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := transactionOf([]byte(c.bundle))
			if err == nil || err.Error() != c.wantErr {
				t.Errorf("error %v, want %q", err, c.wantErr)
			}
		})
	}
}
