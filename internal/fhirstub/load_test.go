package fhirstub

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/trialscreen/trialscreen/demo"
)

func TestDemoBundlesServeEveryDemoPatient(t *testing.T) {
	bundles, err := DemoBundles()
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(0, bundles...)
	if err != nil {
		t.Fatal(err)
	}
	got, want := s.PatientIDs(), demo.PatientIDs()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("patients %v, want %v", got, want)
	}
}

func TestDirBundles(t *testing.T) {
	candidate, err := demo.Bundle("candidate")
	if err != nil {
		t.Fatal(err)
	}
	write := func(dir, name string, data []byte) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("reads only *.json, in name order", func(t *testing.T) {
		dir := t.TempDir()
		write(dir, "b.json", candidate)
		write(dir, "a.json", []byte(`{"first":true}`))
		write(dir, "notes.txt", []byte("not a bundle"))
		got, err := DirBundles(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || string(got[0]) != `{"first":true}` {
			t.Errorf("got %d bundles, first %.20q; want 2, a.json first", len(got), got[0])
		}
	})
	cases := []struct {
		name    string
		dir     func(t *testing.T) string
		wantErr string
	}{
		{"no bundles in the directory", func(t *testing.T) string { return t.TempDir() }, "fhirstub: no *.json Bundles in "},
		{"no such directory", func(t *testing.T) string { return filepath.Join(t.TempDir(), "missing") }, "no such file or directory"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := DirBundles(c.dir(t))
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("error %v, want one containing %q", err, c.wantErr)
			}
		})
	}
}
