package api

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/trialscreen/trialscreen/store"
)

// feedbackEnv is a CDS Hooks service with a store, and the uuid of a card it returned
// for a demo patient.
func feedbackEnv(t *testing.T) (*cdsTestEnv, *store.Store, cdsCard) {
	t.Helper()
	st := openStore(t, "")
	env := newCDSTestEnv(t, cdsTestConfig{mod: withStore(st)})
	code, body, _ := env.post(t, env.key.token(t, nil), cdsHookBody("demo-candidate", cdsDemoPrefetch(t, "candidate")))
	return env, st, cdsOneCard(t, code, body)
}

// feedbackToken signs a JWT for the feedback endpoint (its own audience).
func (e *cdsTestEnv) feedbackToken(t *testing.T) string {
	return e.key.token(t, func(c jwt.MapClaims, _ map[string]any) { c["aud"] = cdsTestAudience + "/feedback" })
}

func (e *cdsTestEnv) postFeedback(t *testing.T, token, body string, headers ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, routeCDSFeedback, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return rec
}

// The spec's examples: accepted, overridden without a reason, overridden with a reason
// and a comment. All are stored against the card's screening; the comment is not logged.
func TestCDSFeedbackStored(t *testing.T) {
	env, st, card := feedbackEnv(t)
	body := `{"feedback":[
		{"card":"` + card.UUID + `","outcome":"accepted","acceptedSuggestions":[{"id":"s1"}],"outcomeTimestamp":"2030-06-15T09:01:00Z"},
		{"card":"` + card.UUID + `","outcome":"overridden","outcomeTimestamp":"2030-06-15T09:02:00Z"},
		{"card":"` + card.UUID + `","outcome":"overridden","overrideReason":{"reason":{"code":"d7ecf885","system":"https://example.com/r","display":"Not now"},
			"userComment":"private remark"},"outcomeTimestamp":"2030-06-15T09:03:00+01:00"}]}`
	rec := env.postFeedback(t, env.feedbackToken(t), body)
	if rec.Code != http.StatusOK {
		t.Fatalf("feedback: %d %s", rec.Code, rec.Body)
	}
	var sc store.Screening
	page, err := st.ListByPatient(context.Background(), "demo-candidate", "", 1)
	if err == nil && len(page.Items) == 1 {
		sc, err = st.Get(context.Background(), page.Items[0].ID)
	}
	if err != nil || sc.CardUUID != card.UUID {
		t.Fatalf("the card's screening: %+v, %v", sc.CardUUID, err)
	}
	got, err := st.FeedbackFor(context.Background(), sc.ID)
	if err != nil || len(got) != 3 {
		t.Fatalf("FeedbackFor = %d items, %v; want 3", len(got), err)
	}
	want := store.OverrideReason{System: "https://example.com/r", Code: "d7ecf885", Display: "Not now", Comment: "private remark"}
	if got[0].Outcome != "accepted" || got[1].Reasons != nil || len(got[2].Reasons) != 1 || got[2].Reasons[0] != want ||
		!got[2].OutcomeAt.Equal(time.Date(2030, 6, 15, 8, 3, 0, 0, time.UTC)) || got[2].Client != cdsTestIssuer {
		t.Errorf("stored feedback: %+v", got)
	}
	if strings.Contains(env.logs.String(), "private remark") || strings.Contains(env.logs.String(), "demo-candidate") {
		t.Errorf("the log holds the comment or the patient id:\n%s", env.logs)
	}
	if got := testutil.ToFloat64(env.s.cfg.Metrics.desk.feedback.WithLabelValues("overridden")); got != 2 {
		t.Errorf("trialscreen_cds_feedback_total{outcome=\"overridden\"} = %v, want 2", got)
	}
	// The report's panel lists it.
	var doc = mustDecode(t, sc.Document)
	panel := env.s.reviewPanel(context.Background(), sc, doc, true, "")
	if panel == nil || len(panel.Feedback) != 3 || panel.Feedback[2].Reason != "Not now" || panel.Feedback[2].Comment != "private remark" {
		t.Errorf("review panel feedback: %+v", panel)
	}
}

// Each refusal: 401 for a token that is not for this endpoint, 400s naming the field.
func TestCDSFeedbackRefused(t *testing.T) {
	env, _, card := feedbackEnv(t)
	item := func(fields string) string { return `{"feedback":[{` + fields + `}]}` }
	ok := `"card":"` + card.UUID + `","outcomeTimestamp":"2030-06-15T09:01:00Z"`
	for _, tc := range []struct {
		name, body, field, detail string
	}{
		{"unknown card", item(`"card":"no-such-card","outcome":"accepted","outcomeTimestamp":"2030-06-15T09:01:00Z"`), "feedback[0].card", "is not the uuid of a card"},
		{"bad outcome", item(ok + `,"outcome":"ignored"`), "feedback[0].outcome", "must be accepted or overridden"},
		{"no outcome", item(ok), "feedback[0].outcome", "is required"},
		{"no card", item(`"outcome":"accepted","outcomeTimestamp":"2030-06-15T09:01:00Z"`), "feedback[0].card", "is required"},
		{"no timestamp", item(`"card":"` + card.UUID + `","outcome":"accepted"`), "feedback[0].outcomeTimestamp", "is required"},
		{"bad timestamp", item(`"card":"` + card.UUID + `","outcome":"accepted","outcomeTimestamp":"yesterday"`), "feedback[0].outcomeTimestamp", "not an ISO 8601"},
		{"reason with accepted", item(ok + `,"outcome":"accepted","overrideReason":{"userComment":"x"}`), "feedback[0].overrideReason", "only with outcome overridden"},
		{"reason without code", item(ok + `,"outcome":"overridden","overrideReason":{"reason":{"system":"s"}}`), "feedback[0].overrideReason.reason", "needs code and system"},
		{"comment with a control character", item(ok + `,"outcome":"overridden","overrideReason":{"userComment":"a\u0000b"}`), "feedback[0].overrideReason.userComment", "contains the control character U+0000"},
		{"comment too long", item(ok + `,"outcome":"overridden","overrideReason":{"userComment":"` + strings.Repeat("x", maxFeedbackComment+1) + `"}`), "feedback[0].overrideReason.userComment", "at most"},
		{"no feedback", `{}`, "feedback", "is required"},
		{"feedback not an array", `{"feedback":{}}`, "feedback", "not slice"},
		{"not JSON", `{"feedback":`, "body", "not a JSON CDS Hooks feedback request"},
		{"second item unknown", `{"feedback":[{` + ok + `,"outcome":"accepted"},{"card":"nope","outcome":"accepted","outcomeTimestamp":"2030-06-15T09:01:00Z"}]}`, "feedback[1].card", "is not the uuid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := env.postFeedback(t, env.feedbackToken(t), tc.body)
			var p Problem
			_ = json.Unmarshal(rec.Body.Bytes(), &p)
			if rec.Code != http.StatusBadRequest || p.Field != tc.field || !strings.Contains(p.Detail, tc.detail) {
				t.Errorf("%d %s; want 400 naming %q with %q", rec.Code, rec.Body, tc.field, tc.detail)
			}
		})
	}
	body := item(ok + `,"outcome":"accepted"`)
	if rec := env.postFeedback(t, "", body); rec.Code != http.StatusUnauthorized || rec.Header().Get("WWW-Authenticate") == "" {
		t.Errorf("no token: %d", rec.Code)
	}
	if rec := env.postFeedback(t, env.key.token(t, nil), body); rec.Code != http.StatusUnauthorized {
		t.Errorf("a token for the hook call (its audience): %d, want 401", rec.Code)
	}
	if rec := env.postFeedback(t, env.feedbackToken(t), body, "Content-Type", "text/plain"); rec.Code != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain: %d, want 415", rec.Code)
	}
	big := `{"feedback":[{"card":"` + strings.Repeat("x", maxFeedbackBytes) + `"}]}`
	if rec := env.postFeedback(t, env.feedbackToken(t), big); rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("a body over %d bytes: %d, want 413", maxFeedbackBytes, rec.Code)
	}
	var many bytes.Buffer
	many.WriteString(`{"feedback":[`)
	for i := range maxFeedbackItems + 1 {
		if i > 0 {
			many.WriteByte(',')
		}
		many.WriteString(`{` + ok + `,"outcome":"accepted"}`)
	}
	many.WriteString(`]}`)
	if rec := env.postFeedback(t, env.feedbackToken(t), many.String()); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "at most 50") {
		t.Errorf("too many items: %d %s", rec.Code, rec.Body)
	}
}

// Without a store a card cannot be found again: 404 saying why.
func TestCDSFeedbackWithoutStore(t *testing.T) {
	env := newCDSTestEnv(t, cdsTestConfig{})
	rec := env.postFeedback(t, env.feedbackToken(t), `{"feedback":[{"card":"c","outcome":"accepted","outcomeTimestamp":"2030-06-15T09:01:00Z"}]}`)
	if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), errFeedbackNotStored.Error()) {
		t.Errorf("%d %s", rec.Code, rec.Body)
	}
}

// A card keeps at most store.MaxFeedbackPerCard records: every one is read with the
// card's report, so an EHR posting in a loop is refused (400 naming the card) rather
// than making each report read cost more.
func TestCDSFeedbackCardFull(t *testing.T) {
	env, st, card := feedbackEnv(t)
	items := func(n int) string {
		var b strings.Builder
		b.WriteString(`{"feedback":[`)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`{"card":"` + card.UUID + `","outcome":"accepted","outcomeTimestamp":"2030-06-15T09:01:00Z"}`)
		}
		b.WriteString(`]}`)
		return b.String()
	}
	for sent := 0; sent < store.MaxFeedbackPerCard; sent += maxFeedbackItems {
		if rec := env.postFeedback(t, env.feedbackToken(t), items(min(maxFeedbackItems, store.MaxFeedbackPerCard-sent))); rec.Code != http.StatusOK {
			t.Fatalf("feedback after %d: %d %s", sent, rec.Code, rec.Body)
		}
	}
	rec := env.postFeedback(t, env.feedbackToken(t), items(1))
	var p Problem
	_ = json.Unmarshal(rec.Body.Bytes(), &p)
	if rec.Code != http.StatusBadRequest || p.Field != "feedback[0].card" || !strings.Contains(p.Detail, "has 100 feedback records already") {
		t.Errorf("feedback on a full card: %d %s; want 400 naming feedback[0].card", rec.Code, rec.Body)
	}
	page, err := st.ListByPatient(context.Background(), "demo-candidate", "", 1)
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("ListByPatient: %v", err)
	}
	if got, err := st.FeedbackFor(context.Background(), page.Items[0].ID); err != nil || len(got) != store.MaxFeedbackPerCard {
		t.Errorf("FeedbackFor = %d records, %v; want %d", len(got), err, store.MaxFeedbackPerCard)
	}
}
