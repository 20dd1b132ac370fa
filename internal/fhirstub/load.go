package fhirstub

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/trialscreen/trialscreen/demo"
)

// DemoBundles returns the built-in demo patients' Bundles, one patient each.
func DemoBundles() ([][]byte, error) {
	var bundles [][]byte
	for _, name := range demo.Names() {
		b, err := demo.Bundle(name)
		if err != nil {
			return nil, fmt.Errorf("fhirstub: demo patient %s: %w", name, err)
		}
		bundles = append(bundles, b)
	}
	return bundles, nil
}

// DirBundles reads every *.json file directly in dir as one patient's Bundle, in name
// order. A directory without any is an error: a stub serving nobody hides a wrong path.
func DirBundles(dir string) ([][]byte, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("fhirstub: %w", err)
	}
	names, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, fmt.Errorf("fhirstub: %s: %w", dir, err)
	}
	if len(names) == 0 {
		return nil, errors.New("fhirstub: no *.json Bundles in " + dir)
	}
	sort.Strings(names)
	bundles := make([][]byte, 0, len(names))
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			return nil, fmt.Errorf("fhirstub: %w", err)
		}
		bundles = append(bundles, b)
	}
	return bundles, nil
}
