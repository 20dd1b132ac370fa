package fhirclient

import (
	"github.com/trialscreen/trialscreen/internal/origin"

	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sync/errgroup"
)

// DownloadOptions bound the download of an export's files. Zero values take the defaults.
type DownloadOptions struct {
	MaxFileBytes int64         // per file, as written to disk (gzip undone); default 4 GiB
	Timeout      time.Duration // one attempt at one file, body included; default 15 minutes
}

const (
	defaultMaxFileBytes    = 4 << 30
	defaultDownloadTimeout = 15 * time.Minute
	deleteTimeout          = 10 * time.Second
)

// Download is what DownloadExport wrote.
type Download struct {
	Files      []DownloadedFile // the manifest's output files, in its order: <Type>-<n>.ndjson
	ErrorFiles []DownloadedFile // its error files (OperationOutcome NDJSON): error-<n>.ndjson
}

// DownloadedFile is one file written.
type DownloadedFile struct {
	Type  string // the resource type of its lines
	Path  string
	Bytes int64
	Lines int64 // lines, that is resources (a last line without a newline counts)
}

// Issues is the number of OperationOutcomes the server wrote in the error files: what it
// could not export.
func (d *Download) Issues() int64 {
	var n int64
	for _, f := range d.ErrorFiles {
		n += f.Lines
	}
	return n
}

// fileJob is one file to fetch.
type fileJob struct {
	f       ExportFile
	name    string // file name in dir
	foreign bool   // not on the FHIR server's origin
}

// DownloadExport streams the files of a finished export (its output and error files) to
// dir, created if need be, at most MaxConcurrent at a time, each at most MaxFileBytes.
// The token goes with a file only when the manifest requires it, and then only to the
// FHIR server's origin: such a file elsewhere is refused, before anything is fetched. A
// file that needs no token may be elsewhere (e.g. cloud storage), over https unless the
// FHIR server itself is plain http. Existing files are never overwritten. On failure the
// files written by this call are removed, so it can be called again; on success the
// export job is deleted on the server (errors ignored), which frees its storage.
func (c *Client) DownloadExport(ctx context.Context, res *ExportResult, dir string, opt DownloadOptions) (*Download, error) {
	if opt.MaxFileBytes < 0 || opt.Timeout < 0 {
		return nil, errors.New("fhirclient: export download: DownloadOptions.MaxFileBytes and Timeout must be 0 (the default) or more")
	}
	if opt.MaxFileBytes == 0 {
		opt.MaxFileBytes = defaultMaxFileBytes
	}
	if opt.Timeout == 0 {
		opt.Timeout = defaultDownloadTimeout
	}
	if res == nil || res.status == nil {
		return nil, errors.New("fhirclient: export download: give the result of Export")
	}
	jobs, err := c.planDownload(res)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil { // the files hold patient data
		return nil, fmt.Errorf("fhirclient: export download: %w", err)
	}
	for _, j := range jobs {
		if _, err := os.Lstat(filepath.Join(dir, j.name)); !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("fhirclient: export download: %s already exists in the directory; give an empty one", j.name)
		}
	}

	done := make([]DownloadedFile, len(jobs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.cfg.MaxConcurrent)
	for i := range jobs {
		g.Go(func() error {
			f, err := c.downloadFile(gctx, res, jobs[i], dir, opt)
			done[i] = f
			return err
		})
	}
	if err := g.Wait(); err != nil {
		for _, f := range done {
			if f.Path != "" {
				_ = os.Remove(f.Path)
			}
		}
		return nil, err
	}
	d := &Download{Files: done[:len(res.Output)], ErrorFiles: done[len(res.Output):]}
	c.deleteExport(ctx, res.status, res.secrets)
	return d, nil
}

// planDownload names the files and checks, before anything is fetched, that each may be
// fetched under the token rules.
func (c *Client) planDownload(res *ExportResult) ([]fileJob, error) {
	var jobs []fileJob
	seen := map[string]int{}
	add := func(f ExportFile, prefix string) error {
		seen[prefix]++
		j := fileJob{f: f, name: prefix + "-" + strconv.Itoa(seen[prefix]) + ".ndjson", foreign: !origin.Same(f.url, c.base)}
		refuse := func(why string) error {
			return &Error{Kind: KindBadResponse, Op: opDownload + f.Type, Err: fmt.Errorf("the export's file for %s is on another origin (%s://%s) %s; not downloaded", f.Type, res.secrets.clean(f.url.Scheme), res.secrets.clean(f.url.Host), why)}
		}
		switch {
		case j.foreign && res.RequiresAccessToken:
			return refuse("and the manifest says it needs the access token, which goes to the FHIR server only")
		case j.foreign && f.url.Scheme != "https" && c.base.Scheme == "https":
			return refuse("over plain http")
		}
		jobs = append(jobs, j)
		return nil
	}
	for _, f := range res.Output {
		if err := add(f, f.Type); err != nil {
			return nil, err
		}
	}
	for _, f := range res.Errors {
		// Lower case: no resource type's file can take the name.
		if err := add(f, "error"); err != nil {
			return nil, err
		}
	}
	return jobs, nil
}

// downloadFile streams one file to dir/j.name through a ".part" file, so that a file
// under its final name is always whole. Retries start the file over.
func (c *Client) downloadFile(ctx context.Context, res *ExportResult, j fileJob, dir string, opt DownloadOptions) (DownloadedFile, error) {
	final := filepath.Join(dir, j.name)
	part := final + ".part"
	fh, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return DownloadedFile{}, fmt.Errorf("fhirclient: export download: %w", err)
	}
	defer func() {
		fh.Close()
		_ = os.Remove(part) // gone after the rename; left only by a failure
	}()

	typ := j.f.Type
	rq := &request{
		op: opDownload + typ, url: j.f.url, secrets: res.secrets, timeout: opt.Timeout,
		header:  http.Header{"Accept": {ndjsonFormat}},
		noToken: !res.RequiresAccessToken, // the spec forbids sending it then
	}
	var w *countingWriter
	var diskErr error
	rq.read = func(ctx context.Context, resp *http.Response) ([]byte, *Error) {
		if resp.StatusCode != http.StatusOK {
			drain(resp.Body)
			return nil, c.newError(rq, KindBadResponse, resp.StatusCode, fmt.Errorf("the server answered %d for the export's file for %s; want 200", resp.StatusCode, typ))
		}
		if p := ndjsonTypeProblem(resp.Header.Get("Content-Type")); p != "" {
			return nil, c.newError(rq, KindBadResponse, resp.StatusCode, fmt.Errorf("the export's file for %s: %s", typ, p))
		}
		tooBig := func() *Error {
			return c.newError(rq, KindBadResponse, resp.StatusCode, fmt.Errorf("the export's file for %s is larger than MaxFileBytes (%s)", typ, byteSize(opt.MaxFileBytes)))
		}
		if resp.ContentLength > opt.MaxFileBytes {
			return nil, tooBig()
		}
		if err := restart(fh); err != nil {
			diskErr = err
			return nil, c.newError(rq, KindBadResponse, 0, err)
		}
		w = &countingWriter{w: fh}
		_, err := io.CopyBuffer(w, io.LimitReader(resp.Body, opt.MaxFileBytes+1), make([]byte, 256<<10))
		switch {
		case w.err != nil:
			diskErr = w.err
			return nil, c.newError(rq, KindBadResponse, 0, w.err) // not retried: the disk, not the server
		case err != nil && ctx.Err() != nil:
			e := c.ctxError(rq, ctx.Err(), "while reading the file")
			e.Status = resp.StatusCode
			return nil, e
		case errors.Is(err, context.DeadlineExceeded):
			e := c.newError(rq, KindUnavailable, resp.StatusCode, fmt.Errorf("the export's file for %s was not read within DownloadOptions.Timeout (%s); %d bytes came", typ, opt.Timeout, w.n))
			e.retryable = true
			return nil, e
		case err != nil:
			e := c.newError(rq, KindUnavailable, resp.StatusCode, fmt.Errorf("the export's file for %s was cut off after %d bytes: %w", typ, w.n, unwrapURLError(err)))
			e.retryable = true
			return nil, e
		case w.n > opt.MaxFileBytes:
			return nil, tooBig()
		}
		// A file cut short at a line boundary looks whole; the manifest's count tells.
		// Missing lines would read as "no records", so it is fetched again, then refused.
		if n := w.lines(); j.f.Count >= 0 && n != int64(j.f.Count) {
			e := c.newError(rq, KindBadResponse, resp.StatusCode, fmt.Errorf("the export's file for %s holds %d resources; the manifest says %d: it is incomplete", typ, n, j.f.Count))
			e.retryable = true
			return nil, e
		}
		return nil, nil
	}
	if j.foreign {
		// Not through the breaker: cloud storage failing says nothing of the FHIR server.
		if _, e := c.retry(ctx, rq); e != nil {
			err = e
		}
	} else {
		_, err = c.get(ctx, rq)
	}
	if diskErr != nil {
		return DownloadedFile{}, fmt.Errorf("fhirclient: export download: writing the file for %s: %w", typ, diskErr)
	}
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			switch e.Status {
			case http.StatusNotFound, http.StatusGone:
				e.note("the export's file for %s has expired or is gone; run the export again", typ)
			case http.StatusForbidden:
				e.note("access to the export's file for %s is refused: its link may have expired; run the export again", typ)
			}
		}
		return DownloadedFile{}, err
	}
	if err := fh.Sync(); err != nil {
		return DownloadedFile{}, fmt.Errorf("fhirclient: export download: writing the file for %s: %w", typ, err)
	}
	if err := os.Rename(part, final); err != nil {
		return DownloadedFile{}, fmt.Errorf("fhirclient: export download: %w", err)
	}
	return DownloadedFile{Type: typ, Path: final, Bytes: w.n, Lines: w.lines()}, nil
}

// restart empties the file for another attempt.
func restart(fh *os.File) error {
	if err := fh.Truncate(0); err != nil {
		return err
	}
	_, err := fh.Seek(0, io.SeekStart)
	return err
}

// countingWriter counts bytes and lines as they pass.
type countingWriter struct {
	w        io.Writer
	n, nl    int64
	lastByte byte
	err      error // the first write error: the disk's, not the network's
}

func (cw *countingWriter) Write(p []byte) (int, error) {
	n, err := cw.w.Write(p)
	for _, b := range p[:n] {
		if b == '\n' {
			cw.nl++
		}
	}
	if n > 0 {
		cw.lastByte = p[n-1]
	}
	cw.n += int64(n)
	if err != nil && cw.err == nil {
		cw.err = err
	}
	return n, err
}

func (cw *countingWriter) lines() int64 {
	if cw.n > 0 && cw.lastByte != '\n' {
		return cw.nl + 1
	}
	return cw.nl
}

// ndjsonTypeProblem accepts the NDJSON types, JSON, and the generic types cloud storage
// serves files with; it refuses the rest, such as an HTML error page sent with a 200.
func ndjsonTypeProblem(ct string) string {
	if ct == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return "its Content-Type cannot be parsed"
	}
	switch mt {
	case ndjsonFormat, "application/ndjson", "application/x-ndjson", "application/fhir+json", "application/json",
		"application/octet-stream", "text/plain":
		return ""
	}
	return fmt.Sprintf("its Content-Type is %s; want %s", mt, ndjsonFormat)
}

// deleteExport asks the server to drop an export job and its files; errors are ignored
// (the server drops them anyway when they expire), and it waits at most deleteTimeout.
func (c *Client) deleteExport(ctx context.Context, status *url.URL, sec *secrets) {
	ctx, cancel := context.WithTimeout(ctx, deleteTimeout)
	defer cancel()
	rq := &request{op: opDelete, url: status, secrets: sec, method: http.MethodDelete}
	rq.read = func(_ context.Context, resp *http.Response) ([]byte, *Error) {
		drain(resp.Body)
		return nil, nil
	}
	_, _, _ = c.attempt(ctx, rq)
}
