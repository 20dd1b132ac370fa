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

func TestWalksStopOnBrokenInput(t *testing.T) {
	for _, in := range []string{`[}`, `[,`, `[1,`, `{"a"`, `{"a":`, `{"`, `[`, `x`} {
		Elements([]byte(in), func([]byte) bool { return true })
		Members([]byte(in), func(_, _ []byte) bool { return true })
	}
	var names []string
	if !Members([]byte(` {"a": [1, 2], "b": {"c": "}"}}`), func(n, _ []byte) bool { names = append(names, string(n)); return true }) || len(names) != 2 {
		t.Errorf("members %q", names)
	}
	n := 0
	if !Elements([]byte(`[{"x":1}, "y", 3]`), func([]byte) bool { n++; return true }) || n != 3 {
		t.Errorf("elements %d", n)
	}
}

// stringEndByByte is CompleteStringEnd as it was, a byte at a time: the reference the
// quote-to-quote version is held to.
func stringEndByByte(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
}

// CompleteStringEnd finds the same end as a walk byte by byte, escaped quotes and runs
// of backslashes included, on any input.
func FuzzCompleteStringEnd(f *testing.F) {
	for _, s := range []string{`"abc"`, `"a\"b"`, `"a\\"b"`, `"a\\\"b"`, `"\\\\"`, `"unclosed`, `"ends in \`, `"\"`, `""`, `"é\u0022"x"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) == 0 || b[0] != '"' {
			return
		}
		if got, want := CompleteStringEnd(b, 0), stringEndByByte(b, 0); got != want {
			t.Errorf("CompleteStringEnd(%q) = %d, want %d", b, got, want)
		}
	})
}
