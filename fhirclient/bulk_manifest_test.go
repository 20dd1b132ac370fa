package fhirclient

import (
	"context"
	"strings"
	"testing"
	"time"
)

// A manifest that is one page of several (a next link: allowPartialManifests, which we
// never ask for) or that lists deleted resources when the export asked for no _since is
// refused, and the job is deleted on the server: what it leaves out would read as "no
// records". The error names no URL (a page link may carry a credential).
func TestExportManifestPagesAndDeleted(t *testing.T) {
	const head = `{"transactionTime":"2026-03-01T10:00:00Z","requiresAccessToken":true,"output":[{"type":"Patient","url":"http://127.0.0.1/files/p1"}]`
	const pageURL = "http://127.0.0.1/jobs/7/page2?token=secret-page-token"
	deleted := func(n int) string {
		files := make([]string, n)
		for i := range files {
			files[i] = `{"type":"Bundle","url":"http://127.0.0.1/files/d` + string(rune('0'+i)) + `"}`
		}
		return `,"deleted":[` + strings.Join(files, ",") + `]`
	}
	tests := []struct {
		name     string
		manifest string
		since    bool   // the export asks for _since
		msg      string // "": accepted
		deleted  int    // deleted files kept, when accepted
	}{
		{"next link", head + `,"link":[{"relation":"next","url":"` + pageURL + `"}]}`, false,
			"fhirclient: export status Bulk: bad response (HTTP 200): the manifest is one page of several (it has a link with relation next), which was not asked for (allowPartialManifests): the files of the other pages would be missing; refused", 0},
		{"next link in capitals, after another", head + `,"link":[{"relation":"self","url":"http://127.0.0.1/jobs/7"},{"relation":" NEXT ","url":"` + pageURL + `"}]}`, false,
			"fhirclient: export status Bulk: bad response (HTTP 200): the manifest is one page of several (it has a link with relation next), which was not asked for (allowPartialManifests): the files of the other pages would be missing; refused", 0},
		{"next link with _since too", head + deleted(1) + `,"link":[{"relation":"next","url":"` + pageURL + `"}]}`, true,
			"fhirclient: export status Bulk: bad response (HTTP 200): the manifest is one page of several (it has a link with relation next), which was not asked for (allowPartialManifests): the files of the other pages would be missing; refused", 0},
		{"link that is not an array", head + `,"link":{"relation":"next"}}`, false,
			"fhirclient: export status Bulk: bad response (HTTP 200): the manifest's link is not an array", 0},
		{"two deleted files without _since", head + deleted(2) + `}`, false,
			"fhirclient: export status Bulk: bad response (HTTP 200): the manifest lists 2 deleted files, but the export did not ask for changes since a time (_since): what it means cannot be told; refused", 0},
		{"one deleted file without _since", head + deleted(1) + `}`, false,
			"fhirclient: export status Bulk: bad response (HTTP 200): the manifest lists 1 deleted file, but the export did not ask for changes since a time (_since): what it means cannot be told; refused", 0},
		{"deleted files with _since", head + deleted(2) + `}`, true, "", 2},
		{"empty deleted list", head + `,"deleted":[]}`, false, "", 0},
		{"a link that is not next", head + `,"link":[{"relation":"self","url":"http://127.0.0.1/jobs/7"}]}`, false, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newBulkFake(t)
			f.manifest = tt.manifest
			c := newClient(t, f.URL, nil)
			req := bulkRequest(&fakeSleep{})
			if tt.since {
				req.Since = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			}
			res, err := c.Export(context.Background(), req)
			if tt.msg == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if len(res.Deleted) != tt.deleted || len(res.Output) != 1 {
					t.Errorf("%d deleted and %d output files, want %d and 1", len(res.Deleted), len(res.Output), tt.deleted)
				}
				return
			}
			checkBulkError(t, err, KindBadResponse, opStatus, tt.msg)
			if strings.Contains(err.Error(), "secret-page-token") {
				t.Errorf("the error shows the page link: %s", err)
			}
			if n := f.count("DELETE", "/jobs/7"); n != 1 {
				t.Errorf("the refused job was deleted %d times, want once", n)
			}
		})
	}
}
