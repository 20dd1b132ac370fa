package batch

import (
	"encoding/json"
	"fmt"
	"testing"
)

// TestPlainPathsDecodeAsEncodingJSON: where the fast paths take a value, they read what
// encoding/json reads; the shapes they cannot read exactly are left to encoding/json.
func TestPlainPathsDecodeAsEncodingJSON(t *testing.T) {
	refs := []struct {
		name, in string
		fast     bool
	}{
		{"plain", `{"reference":"Patient/p1","display":"x"}`, true},
		{"repeated: last wins", `{"reference":"Patient/a","reference":"Patient/b"}`, true},
		{"null keeps the earlier", `{"reference":"Patient/a","reference":null}`, true},
		{"empty", `{}`, true},
		{"name in another case", `{"Reference":"Patient/a"}`, false},
		{"escaped name", `{"refer\u0065nce":"Patient/a"}`, false},
		{"escaped value", `{"reference":"Patient\/a"}`, false},
		{"invalid UTF-8", "{\"reference\":\"Patient/\xff\"}", false},
		{"number", `{"reference":1}`, false},
		{"not an object", `"Patient/a"`, false},
	}
	for _, tc := range refs {
		t.Run("ref "+tc.name, func(t *testing.T) {
			got, ok := plainRef([]byte(tc.in))
			if ok != tc.fast {
				t.Fatalf("fast path taken: %v, want %v", ok, tc.fast)
			}
			var want struct {
				Reference string `json:"reference"`
			}
			if ok && (json.Unmarshal([]byte(tc.in), &want) != nil || got != want.Reference) {
				t.Errorf("got %q, encoding/json reads %q", got, want.Reference)
			}
		})
	}
	concepts := []struct {
		name, in string
		fast     bool
	}{
		{"codings", `{"coding":[{"system":"s","code":"c","display":"d"},{"code":"c2"}],"text":"t"}`, true},
		{"repeated coding: last wins", `{"coding":[{"code":"a"}],"coding":[{"code":"b"}]}`, true},
		{"null coding", `{"coding":null}`, true},
		{"empty coding", `{"coding":[]}`, true},
		{"null field", `{"coding":[{"system":null,"code":"c"}]}`, true},
		{"null element", `{"coding":[null]}`, false},
		{"code in another case", `{"coding":[{"Code":"c"}]}`, false},
		{"coding in another case", `{"Coding":[]}`, false},
		{"coding not an array", `{"coding":{}}`, false},
		{"code a number", `{"coding":[{"code":1}]}`, false},
		{"null text", `{"coding":[{"code":"c"}],"text":null}`, true},
		{"text a number", `{"coding":[{"code":"c"}],"text":1}`, false},
		{"text in another case", `{"coding":[{"code":"c"}],"Text":"t"}`, false},
	}
	for _, tc := range concepts {
		t.Run("concept "+tc.name, func(t *testing.T) {
			got, ok := plainConcept([]byte(tc.in))
			if ok != tc.fast {
				t.Fatalf("fast path taken: %v, want %v", ok, tc.fast)
			}
			var c conceptJSON
			err := json.Unmarshal([]byte(tc.in), &c)
			want := []codingKV{}
			for _, x := range c.Coding {
				want = append(want, codingKV{x.System, x.Code})
			}
			if ok && (err != nil || fmt.Sprint(got) != fmt.Sprint(want)) {
				t.Errorf("got %v, encoding/json reads %v (%v)", got, want, err)
			}
		})
	}
	components := []struct {
		name, in string
		fast     bool
	}{
		{"codes", `[{"code":{"coding":[{"system":"s","code":"a"}]},"valueQuantity":{"value":1}},{"code":{"coding":[{"code":"b"},{"code":"c"}]}}]`, true},
		{"empty", `[]`, true},
		{"no code, null code", `[{},{"code":null}]`, true},
		{"null element", `[null]`, false},
		{"not an array", `{"code":{}}`, false},
		{"code in another case", `[{"Code":{"coding":[{"code":"a"}]}}]`, false},
		{"code given twice", `[{"code":{"coding":[{"code":"a"}]},"code":{"text":"x"}}]`, false},
		{"code not plain", `[{"code":{"coding":[{"code":1}]}}]`, false},
	}
	for _, tc := range components {
		t.Run("components "+tc.name, func(t *testing.T) {
			got, ok := plainComponents([]byte(tc.in), nil)
			if ok != tc.fast {
				t.Fatalf("fast path taken: %v, want %v", ok, tc.fast)
			}
			var cs []struct {
				Code *conceptJSON `json:"code"`
			}
			err := json.Unmarshal([]byte(tc.in), &cs)
			var want []codingKV
			for _, c := range cs {
				want = append(want, c.Code.codes()...)
			}
			if ok && (err != nil || fmt.Sprint(got) != fmt.Sprint(want)) {
				t.Errorf("got %v, encoding/json reads %v (%v)", got, want, err)
			}
		})
	}
}
