package containertest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/trialscreen/trialscreen/demo"
)

// startHAPI runs HAPI FHIR (FHIR_TEST_IMAGE) as the FHIR server and loads the demo
// patients into it, one transaction each.
func (s *suite) startHAPI(ctx context.Context, image string) (*fhirServer, error) {
	c, err := s.run(ctx, testcontainers.ContainerRequest{
		Image:              image,
		Networks:           []string{s.net.Name},
		NetworkAliases:     map[string][]string{s.net.Name: {"fhir"}},
		ExposedPorts:       []string{"8080/tcp"},
		HostConfigModifier: loopbackPort("8080/tcp"),
		// HAPI takes a minute or more to start on a small machine.
		WaitingFor: wait.ForHTTP("/fhir/metadata").WithPort("8080/tcp").WithStartupTimeout(4 * time.Minute),
	})
	if err != nil {
		return nil, fmt.Errorf("FHIR_TEST_IMAGE=%s (it must be present locally or pullable from a registry): %w", image, err)
	}
	host, err := c.Host(ctx)
	if err != nil {
		return nil, err
	}
	if host != "127.0.0.1" {
		return nil, fmt.Errorf("testcontainers gives host %q, want 127.0.0.1 (TESTCONTAINERS_HOST_OVERRIDE)", host)
	}
	port, err := c.MappedPort(ctx, "8080/tcp")
	if err != nil {
		return nil, err
	}
	base := "http://127.0.0.1:" + port.Port() + "/fhir"
	for _, name := range demo.Names() {
		b, err := demo.Bundle(name)
		if err != nil {
			return nil, err
		}
		tx, err := transactionOf(b)
		if err != nil {
			return nil, fmt.Errorf("demo patient %s: %w", name, err)
		}
		if err := post(ctx, base, tx); err != nil {
			return nil, fmt.Errorf("loading demo patient %s into %s: %w", name, image, err)
		}
	}
	return &fhirServer{docker: s.docker, ctr: c, kind: image, base: "http://fhir:8080/fhir"}, nil
}

// transactionOf turns a patient's collection Bundle into a transaction that PUTs each
// resource at its own id: the ids the tests screen by stay the same, and loading twice
// changes nothing.
func transactionOf(bundle []byte) ([]byte, error) {
	var in struct {
		Entry []struct {
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(bundle, &in); err != nil {
		return nil, fmt.Errorf("not a Bundle: %w", err)
	}
	type request struct {
		Method string `json:"method"`
		URL    string `json:"url"`
	}
	type entry struct {
		FullURL  string          `json:"fullUrl"`
		Resource json.RawMessage `json:"resource"`
		Request  request         `json:"request"`
	}
	out := struct {
		ResourceType string  `json:"resourceType"`
		Type         string  `json:"type"`
		Entry        []entry `json:"entry"`
	}{ResourceType: "Bundle", Type: "transaction"}
	for i, e := range in.Entry {
		var head struct {
			ResourceType string `json:"resourceType"`
			ID           string `json:"id"`
		}
		if err := json.Unmarshal(e.Resource, &head); err != nil || head.ResourceType == "" || head.ID == "" {
			return nil, fmt.Errorf("entry %d: a resource with a type and an id is needed to PUT it", i)
		}
		ref := head.ResourceType + "/" + head.ID
		out.Entry = append(out.Entry, entry{FullURL: ref, Resource: e.Resource, Request: request{Method: http.MethodPut, URL: ref}})
	}
	if len(out.Entry) == 0 {
		return nil, errors.New("the Bundle has no entries")
	}
	return json.Marshal(out)
}

// post sends a transaction to a FHIR base and requires 200.
func post(ctx context.Context, base string, tx []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base, bytes.NewReader(tx))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/fhir+json")
	req.Header.Set("Accept", "application/fhir+json")
	resp, err := httpClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 2000))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("transaction: %s: %s", resp.Status, body)
	}
	return nil
}
