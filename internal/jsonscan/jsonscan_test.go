package jsonscan

import "testing"

func TestValueEnd(t *testing.T) {
	for _, tc := range []struct {
		in   string
		from int
		want int
	}{
		{`"a\"b",`, 0, 6},
		{`{"a":[1,{"b":"}"}]} x`, 0, 19},
		{`12.5e3}`, 0, 6},
		{`true]`, 0, 4},
		{`{"cut`, 0, 5}, // not JSON: stays within the slice
		{``, 0, 0},
	} {
		if got := ValueEnd([]byte(tc.in), tc.from); got != tc.want {
			t.Errorf("ValueEnd(%q, %d) = %d, want %d", tc.in, tc.from, got, tc.want)
		}
	}
	if got := Space([]byte(" \t\r\nx"), 0); got != 4 {
		t.Errorf("Space = %d, want 4", got)
	}
}
