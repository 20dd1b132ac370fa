// Command gen-ndjson writes a large FHIR Bulk Data export (one NDJSON file per resource
// type) by repeating patient Bundles with new ids, streaming:
//
//	go run ./batch/cmd/gen-ndjson -out DIR -size 2GB [-in ../shared/data/synthea]
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/trialscreen/trialscreen/batch/synthgen"
)

func main() {
	in := flag.String("in", "../shared/data/synthea", "directory of patient Bundle files (*.json)")
	out := flag.String("out", "", "output directory")
	size := flag.String("size", "200MB", "stop after writing this much (e.g. 500MB, 2GB)")
	flag.Parse()
	if err := run(*in, *out, *size); err != nil {
		fmt.Fprintln(os.Stderr, "gen-ndjson:", err)
		os.Exit(1)
	}
}

func parseSize(s string) (int64, error) {
	mult := int64(1)
	u := strings.ToUpper(s)
	for _, x := range []struct {
		suffix string
		m      int64
	}{{"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(u, x.suffix) {
			u, mult = strings.TrimSuffix(u, x.suffix), x.m
			break
		}
	}
	n, err := strconv.ParseFloat(strings.TrimSpace(u), 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("-size %q: want a size such as 200MB or 2GB", s)
	}
	return int64(n * float64(mult)), nil
}

func run(in, out, size string) error {
	if out == "" {
		return fmt.Errorf("-out DIR is required")
	}
	limit, err := parseSize(size)
	if err != nil {
		return err
	}
	files, err := filepath.Glob(filepath.Join(in, "*.json"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("-in %s holds no Bundle files", in)
	}
	var templates []*synthgen.Template
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		t, err := synthgen.Prepare(data)
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		templates = append(templates, t)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	writers := map[string]*bufio.Writer{}
	var openFiles []*os.File
	var openErr error
	outFor := func(typ string) io.Writer {
		if w, ok := writers[typ]; ok {
			return w
		}
		f, err := os.Create(filepath.Join(out, typ+".ndjson"))
		if err != nil {
			openErr = err
			return io.Discard
		}
		openFiles = append(openFiles, f)
		writers[typ] = bufio.NewWriterSize(f, 1<<20)
		return writers[typ]
	}
	var written int64
	patients := 0
	for k := 0; written < limit; k++ {
		for _, t := range templates {
			n, err := t.Write(k, outFor)
			if err != nil {
				return err
			}
			if openErr != nil {
				return openErr
			}
			written += n
			patients++
			if written >= limit {
				break
			}
		}
	}
	for _, w := range writers {
		if err := w.Flush(); err != nil {
			return err
		}
	}
	for _, f := range openFiles {
		if err := f.Close(); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "gen-ndjson: %d patients, %d MB in %s\n", patients, written>>20, out)
	return nil
}
