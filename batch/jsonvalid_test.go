package batch

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// TestValidJSONAgreesWithEncodingJSON: the grouping pass's validator accepts and
// refuses exactly what json.Valid does, on the shapes a broken export has.
func TestValidJSONAgreesWithEncodingJSON(t *testing.T) {
	cases := []struct{ name, in string }{
		{"resource", `{"resourceType":"Observation","id":"o1","valueQuantity":{"value":-1.5e+3,"unit":"g/dL"},"x":[true,false,null,[],{}]}`},
		{"spaces", " \t{ \"a\" : [ 1 , 2 ] }\r\n"},
		{"truncated", `{"resourceType":"Observation","id":"o`},
		{"trailing comma in object", `{"a":1,}`},
		{"trailing comma in array", `[1,]`},
		{"missing colon", `{"a" 1}`},
		{"unquoted name", `{a:1}`},
		{"two values", `{} {}`},
		{"mismatched close", `{"a":[1}`},
		{"leading zero", `01`},
		{"bare minus", `-`},
		{"dot without digits", `1.`},
		{"exponent without digits", `1e+`},
		{"escapes", `"\" \\ \/ \b \f \n \r \t \u00e9 \uD83D"`},
		{"bad escape", `"\x"`},
		{"short unicode escape", `"\u12"`},
		{"control character in a string", "\"a\tb\""},
		{"bytes above ASCII", "\"caf\xc3\xa9 \xff\""},
		{"literal typo", `tru`},
		{"empty", ``},
		{"only space", `  `},
		{"deep but allowed", strings.Repeat("[", 10000) + strings.Repeat("]", 10000)},
		{"too deep", strings.Repeat("[", 10001) + strings.Repeat("]", 10001)},
		{"unterminated string", `{"a":"b`},
		{"unclosed object", `{"a":1`},
		{"close without open", `}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got, want := validJSON([]byte(tc.in)), json.Valid([]byte(tc.in)); got != want {
				t.Errorf("validJSON = %v, json.Valid = %v", got, want)
			}
			checkSpaced(t, []byte(tc.in))
		})
	}
}

func FuzzValidJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5e-3,"x\u00e9",true,null]}`, `[{}]`, `"\"`, `-0.0E+1`, `{"a":}`, ` 1 `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got := validJSON(b)
		if want := json.Valid(b); got != want {
			t.Errorf("validJSON(%q) = %v, json.Valid = %v", b, got, want)
		}
		if got {
			checkSpaced(t, b)
		}
	})
}

// checkSpaced: checkJSON's spaced says whether json.Compact changes a valid value, the
// space around it aside.
func checkSpaced(t *testing.T, b []byte) {
	t.Helper()
	valid, spaced := checkJSON(b)
	var c bytes.Buffer
	if !valid || json.Compact(&c, b) != nil {
		return
	}
	if want := !bytes.Equal(c.Bytes(), bytes.Trim(b, " \t\r\n")); spaced != want {
		t.Errorf("checkJSON(%q) says spaced %v, json.Compact gives %q", b, spaced, c.Bytes())
	}
}
