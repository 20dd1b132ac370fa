package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"
)

// jsonObject reads a request body that must be one JSON object with only the members in
// fields. Every error is a 400 naming the member at fault (or "body"); an unknown member
// is an error, so that a misspelt setting is never silently ignored. emptyHint says what
// to send when the body is empty.
func jsonObject(data []byte, fields []string, emptyHint string) (map[string]json.RawMessage, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, invalid("body", "the body is empty; %s", emptyHint)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var members map[string]json.RawMessage
	if err := dec.Decode(&members); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return nil, invalid("body", "malformed JSON at byte %d: %v", se.Offset, err)
		case errors.As(err, &te):
			return nil, invalid("body", "must be a JSON object, not %s", te.Value)
		case errors.Is(err, io.ErrUnexpectedEOF):
			return nil, invalid("body", "truncated JSON: the body ends after %d bytes", len(data))
		}
		return nil, invalid("body", "malformed JSON: %v", err)
	}
	if members == nil {
		return nil, invalid("body", "must be a JSON object, not null")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, invalid("body", "data follows the JSON object")
	}
	names := make([]string, 0, len(members))
	for name := range members {
		names = append(names, name)
	}
	slices.Sort(names) // the first unknown member by name, so the answer is stable
	for _, name := range names {
		if !slices.Contains(fields, name) {
			return nil, invalid(name, "unknown field (the fields are %s)", strings.Join(fields, ", "))
		}
	}
	return members, nil
}

// stringMembers copies string members into their destinations; null or absent leaves
// a destination "", anything else but a string is a 400 naming the member.
func stringMembers(members map[string]json.RawMessage, dst map[string]*string) error {
	names := make([]string, 0, len(dst))
	for name := range dst {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if raw, ok := members[name]; ok {
			if err := json.Unmarshal(raw, dst[name]); err != nil {
				return invalid(name, "must be a string")
			}
		}
	}
	return nil
}

// readJSONBody reads a POST body whose settings travel in JSON. A query parameter named
// like one of fields is refused: it would be silently ignored. The body limit's error
// stays itself (a 413).
func readJSONBody(r *http.Request, fields []string) ([]byte, error) {
	for _, name := range fields {
		if r.URL.Query().Has(name) {
			return nil, invalid(name, "give %s in the JSON body, not as a query parameter", name)
		}
	}
	data, err := io.ReadAll(r.Body)
	if err != nil {
		var he *echo.HTTPError
		if errors.As(err, &he) {
			return nil, he
		}
		return nil, invalid("body", "the body could not be read: %v", err)
	}
	return data, nil
}
