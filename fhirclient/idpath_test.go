package fhirclient

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
)

// pathRecorder is a FHIR server on 127.0.0.1 that records the escaped path (and, for a
// batch, the entry URLs) of every request it gets, and answers 400 so calls end at once.
type pathRecorder struct {
	mu      sync.Mutex
	paths   []string
	entries []string
}

func (p *pathRecorder) handle(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var b struct {
		Entry []struct {
			Request struct{ URL string } `json:"request"`
		} `json:"entry"`
	}
	_ = json.Unmarshal(body, &b)
	p.mu.Lock()
	// RequestURI is the path as sent on the wire, before any cleaning or unescaping.
	path, _, _ := strings.Cut(r.RequestURI, "?")
	p.paths = append(p.paths, r.Method+" "+path)
	for _, e := range b.Entry {
		p.entries = append(p.entries, e.Request.URL)
	}
	p.mu.Unlock()
	writeJSON(w, http.StatusBadRequest, outcome("error", "refused by the test"))
}

func (p *pathRecorder) take() (paths, entries []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	paths, entries = p.paths, p.entries
	p.paths, p.entries = nil, nil
	return paths, entries
}

// TestNoRequestLeavesForAnotherPath: ids that are not FHIR ids ("." and ".." above all,
// which url.JoinPath cleaned into GET [base]/Patient, a search of every patient, and GET
// [base]) are refused before any request, on every call that puts an id into a URL; a
// legitimate id produces exactly the path meant.
func TestNoRequestLeavesForAnotherPath(t *testing.T) {
	rec := &pathRecorder{}
	srv := newServer(t, rec.handle)
	c := newClient(t, srv.URL+"/fhir", nil)
	ctx := context.Background()

	calls := map[string]func(id string) error{
		"read": func(id string) error { _, err := c.Read(ctx, "Patient", id); return err },
		"batch read": func(id string) error {
			_, err := c.Batch(ctx, []BatchRequest{{ResourceType: "Patient", ID: id}})
			return err
		},
		"export Group": func(id string) error { _, err := c.Export(ctx, ExportRequest{Group: id}); return err },
	}
	for _, name := range []string{"read", "batch read", "export Group"} {
		call := calls[name]
		for _, bad := range []string{".", "..", "%2e", "%2e%2e", "a/b", "a?b", "a#b", "../Patient"} {
			if err := call(bad); err == nil {
				t.Errorf("%s %q: no error", name, bad)
			}
			if paths, _ := rec.take(); len(paths) != 0 {
				t.Errorf("%s %q: requests went out: %q", name, bad, paths)
			}
		}
	}

	const id = "pat-1.a"
	_ = calls["read"](id)
	if paths, _ := rec.take(); !slices.Equal(paths, []string{"GET /fhir/Patient/" + id}) {
		t.Errorf("read: requests %q; want exactly GET /fhir/Patient/%s", paths, id)
	}
	_ = calls["batch read"](id)
	if paths, entries := rec.take(); !slices.Equal(paths, []string{"POST /fhir/"}) || !slices.Equal(entries, []string{"Patient/" + id}) {
		t.Errorf("batch: requests %q, entries %q; want POST /fhir/ with the entry Patient/%s", paths, entries, id)
	}
	_ = calls["export Group"](id)
	if paths, _ := rec.take(); !slices.Equal(paths, []string{"GET /fhir/Group/" + id + "/$export"}) {
		t.Errorf("export: requests %q; want exactly GET /fhir/Group/%s/$export", paths, id)
	}
	if _, err := c.Search(ctx, "Patient", url.Values{"_id": {id}}); err == nil {
		t.Error("search: no error from a 400")
	}
	if paths, _ := rec.take(); !slices.Equal(paths, []string{"GET /fhir/Patient"}) {
		t.Errorf("search: requests %q; want exactly GET /fhir/Patient", paths)
	}
}

// TestResourceURLEscapesEachSegment: segments are escaped one by one and never cleaned,
// so that even a segment the id check would refuse cannot change the path's shape.
func TestResourceURLEscapesEachSegment(t *testing.T) {
	for _, base := range []string{"http://127.0.0.1/fhir", "http://127.0.0.1/fhir/", "http://127.0.0.1", "http://127.0.0.1/a%2Fb"} {
		c := newClient(t, base, nil)
		for _, tt := range []struct {
			segs []string
			want string
		}{
			{[]string{"Patient", "123"}, "/Patient/123"},
			{[]string{"Patient", ".."}, "/Patient/.."},
			{[]string{"Patient", "a/b"}, "/Patient/a%2Fb"},
			{[]string{"Patient", "%2e"}, "/Patient/%252e"},
			{[]string{"Patient", "a?b#c"}, "/Patient/a%3Fb%23c"},
			{[]string{"Group", "g1", "$export"}, "/Group/g1/$export"},
		} {
			prefix := c.base.EscapedPath()
			got := c.resourceURL(tt.segs...)
			if got.EscapedPath() != prefix+tt.want || got.RawQuery != "" {
				t.Errorf("base %s: resourceURL(%q) = %s; want path %s", base, tt.segs, got, prefix+tt.want)
			}
		}
	}
}
