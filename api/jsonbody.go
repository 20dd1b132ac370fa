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

	"github.com/trialscreen/trialscreen/internal/bodymem"
	"github.com/trialscreen/trialscreen/internal/jsonscan"
)

// jsonObject reads a request body that must be one JSON object with only the members in
// fields. Every error is a 400 naming the member at fault (or "body"); an unknown member
// is an error, so that a misspelt setting is never silently ignored. emptyHint says what
// to send when the body is empty.
func jsonObject(data []byte, fields []string, emptyHint string) (map[string]json.RawMessage, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, invalid("body", "the body is empty; %s", emptyHint)
	}
	members, err := decodeObject(data)
	if err != nil {
		return nil, err
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

// decodeObject reads the members of the JSON object data. A valid object's members are
// slices of data, not copies: a Bundle member is most of a body of up to MaxBodyBytes.
// Anything else is decoded, for its error's words.
func decodeObject(data []byte) (map[string]json.RawMessage, error) {
	if json.Valid(data) && bytes.TrimLeft(data, " \t\r\n")[0] == '{' {
		members := map[string]json.RawMessage{}
		jsonscan.Members(data, func(name, val []byte) bool {
			members[memberName(name)] = val // the last one given wins, as in a decode
			return true
		})
		return members, nil
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
	return members, nil
}

// memberName is a member's name as written between its quotes, decoded: escapes and
// bytes other than ASCII take the decoder (as a decode into a map would).
func memberName(raw []byte) string {
	for _, c := range raw {
		if c == '\\' || c >= 0x80 {
			var s string
			_ = json.Unmarshal(append(append([]byte{'"'}, raw...), '"'), &s) // a valid JSON string
			return s
		}
	}
	return string(raw)
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
		return nil, bodyReadError(r, err)
	}
	return data, nil
}

// bodyReadError is the error of a body that could not be read: the body limit's (a
// 413) and the memory budget's (a 503, or a 413) stay themselves, the request's end is
// the request's; anything else is a 400.
func bodyReadError(r *http.Request, err error) error {
	var he *echo.HTTPError
	switch {
	case errors.As(err, &he):
		return he
	case errors.Is(err, bodymem.ErrBusy), errors.Is(err, bodymem.ErrTooLarge):
		return err
	case r.Context().Err() != nil:
		return ownWork(r.Context().Err(), "reading the body")
	}
	return invalid("body", "the body could not be read: %v", err)
}

// jsonKind names the JSON type of a valid value as encoding/json's type errors do.
func jsonKind(v []byte) string {
	switch v[0] {
	case '"':
		return "string"
	case '[':
		return "array"
	case '{':
		return "object"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	}
	return "number"
}
