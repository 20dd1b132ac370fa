package fhirclient

import (
	"context"
	"encoding/json"
	"errors"
)

// Capabilities is what a server's CapabilityStatement says it can search by. A server
// that publishes none is assumed to support nothing beyond a search by patient: a search
// parameter it ignores would silently return everything or nothing, and "nothing" must
// never read as "no records".
type Capabilities struct {
	Known  bool                       // the server published a CapabilityStatement
	Batch  bool                       // it accepts batch Bundles (rest.interaction batch)
	search map[string]map[string]bool // resource type -> search parameter names
}

// Supports reports whether the server declares search parameter param for resourceType.
func (c *Capabilities) Supports(resourceType, param string) bool {
	return c != nil && c.search[resourceType][param]
}

// Capabilities reads GET [base]/metadata. A server without one (404, 405, 501) gives
// Capabilities with Known false and no error.
func (c *Client) Capabilities(ctx context.Context) (*Capabilities, error) {
	rq := &request{op: "read CapabilityStatement", url: c.resourceURL("metadata")}
	body, err := c.get(ctx, rq)
	if err != nil {
		var fe *Error
		if errors.As(err, &fe) && (fe.Status == 404 || fe.Status == 405 || fe.Status == 501) {
			return &Capabilities{}, nil
		}
		return nil, err
	}
	var cs struct {
		ResourceType string `json:"resourceType"`
		Rest         []struct {
			Interaction []struct {
				Code string `json:"code"`
			} `json:"interaction"`
			Resource []struct {
				Type        string `json:"type"`
				SearchParam []struct {
					Name string `json:"name"`
				} `json:"searchParam"`
			} `json:"resource"`
		} `json:"rest"`
	}
	if err := json.Unmarshal(body, &cs); err != nil || cs.ResourceType != "CapabilityStatement" {
		return nil, c.newError(rq, KindBadResponse, 200, errors.New("the body is not a CapabilityStatement"))
	}
	caps := &Capabilities{Known: true, search: map[string]map[string]bool{}}
	for _, r := range cs.Rest {
		for _, in := range r.Interaction {
			caps.Batch = caps.Batch || in.Code == "batch"
		}
		for _, res := range r.Resource {
			if caps.search[res.Type] == nil {
				caps.search[res.Type] = map[string]bool{}
			}
			for _, sp := range res.SearchParam {
				caps.search[res.Type][sp.Name] = true
			}
		}
	}
	return caps, nil
}
