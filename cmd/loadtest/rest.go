package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/trialscreen/trialscreen/demo"
)

// restLoad screens the stub's patients in turn with GET /v1/patients/{id}/screening: the
// service fetches each record from the stub.
type restLoad struct {
	*caller
	token string
	ids   []string
}

// restAsOf is the demo patients' own instant. Outside demo mode the service screens as
// of now, when their labs are stale; as of their instant, every criterion is evaluated
// on current data, as for a real patient.
var restAsOf = url.Values{"as_of": {demo.AsOf().Format(time.RFC3339)}}.Encode()

func (l *restLoad) prepare(int, time.Duration) error { return nil }

func (l *restLoad) describe() string {
	return fmt.Sprintf("GET /v1/patients/{id}/screening?as_of=%s, %d demo patients in turn, each record from the stub", demo.AsOf().Format(time.RFC3339), len(l.ids))
}

func (l *restLoad) send(ctx context.Context, i int) sample {
	u := l.base + "/v1/patients/" + url.PathEscape(l.ids[i%len(l.ids)]) + "/screening?" + restAsOf
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	req.Header.Set("Authorization", "Bearer "+l.token)
	return l.do(req)
}
