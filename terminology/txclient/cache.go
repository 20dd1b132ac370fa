package txclient

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/trialscreen/trialscreen/screening"
)

// Cache keeps the last good expansion of every codeset on disk: one JSON file per
// codeset under Dir, each with the server it came from and when. Files are replaced
// whole (written aside, then renamed), so a reader sees an old file or a new one.
type Cache struct {
	Dir string
}

// CacheFile is one codeset's file.
type CacheFile struct {
	Codeset    string           `json:"codeset"`
	Server     string           `json:"server"`
	FetchedAt  time.Time        `json:"fetched_at"`
	Expansions []CacheExpansion `json:"expansions"`
}

// CacheExpansion is what the server gave for one request: the codeset's curated codes
// of one verification tag (the protocol compiler asks once per tag).
type CacheExpansion struct {
	Request []CacheCode `json:"request"`
	Codes   []CacheCode `json:"codes"`
}

// CacheCode is a coding as stored.
type CacheCode struct {
	System string `json:"system"`
	Code   string `json:"code"`
}

func toCache(cs []screening.Coding) []CacheCode {
	out := make([]CacheCode, len(cs))
	for i, c := range cs {
		out[i] = CacheCode{System: c.System, Code: c.Code}
	}
	return out
}

func fromCache(cs []CacheCode) []screening.Coding {
	out := make([]screening.Coding, len(cs))
	for i, c := range cs {
		out[i] = screening.Coding{System: c.System, Code: c.Code}
	}
	return out
}

var plainName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,100}$`)

// path is where a codeset's file lives. A codeset name that is not a plain file name is
// hashed: a name never reaches outside Dir.
func (c *Cache) path(codeset string) string {
	name := codeset
	if !plainName.MatchString(name) {
		sum := sha256.Sum256([]byte(codeset))
		name = "codeset-" + hex.EncodeToString(sum[:12])
	}
	return filepath.Join(c.Dir, name+".json")
}

// Write stores one snapshot: a file per codeset.
func (c *Cache) Write(s *Snapshot) error {
	if err := os.MkdirAll(c.Dir, 0o750); err != nil {
		return err
	}
	var errs []error
	for _, codeset := range s.codesets() {
		f := CacheFile{Codeset: codeset, Server: s.Server, FetchedAt: s.FetchedAt.UTC()}
		for _, r := range s.requests {
			if r.codeset == codeset {
				f.Expansions = append(f.Expansions, CacheExpansion{Request: toCache(r.codes), Codes: toCache(s.codes[r.key()])})
			}
		}
		if err := writeFileAtomic(c.path(codeset), f); err != nil {
			errs = append(errs, fmt.Errorf("codeset %s: %w", codeset, err))
		}
	}
	return errors.Join(errs...)
}

func writeFileAtomic(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // gone after the rename; removes it after a failure
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// errCacheMiss says the cache cannot stand for the server's expansion: a file is
// missing, from another server, or does not hold a request the protocol makes.
var errCacheMiss = errors.New("no usable disk cache")

// Load reads the snapshot of server that answers every request, or errCacheMiss (with
// why). Its FetchedAt is the oldest of the files read.
func (c *Cache) Load(server string, requests []request) (*Snapshot, error) {
	s := newSnapshot(server, time.Time{}, requests)
	files := map[string]*CacheFile{}
	for _, r := range requests {
		f, ok := files[r.codeset]
		if !ok {
			var err error
			if f, err = c.read(r.codeset); err != nil {
				return nil, err
			}
			if f.Server != server {
				return nil, fmt.Errorf("%w: codeset %s was expanded by another server", errCacheMiss, r.codeset)
			}
			files[r.codeset] = f
			if s.FetchedAt.IsZero() || f.FetchedAt.Before(s.FetchedAt) {
				s.FetchedAt = f.FetchedAt
			}
		}
		found := false
		for _, e := range f.Expansions {
			if sortedKey(fromCache(e.Request)) == sortedKey(r.codes) {
				s.codes[r.key()] = fromCache(e.Codes)
				found = true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("%w: codeset %s's codes have changed since it was cached", errCacheMiss, r.codeset)
		}
	}
	return s, nil
}

func (c *Cache) read(codeset string) (*CacheFile, error) {
	data, err := os.ReadFile(c.path(codeset))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: codeset %s is not cached", errCacheMiss, codeset)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: codeset %s: %v", errCacheMiss, codeset, err)
	}
	var f CacheFile
	if err := json.Unmarshal(data, &f); err != nil || f.Codeset != codeset || f.FetchedAt.IsZero() {
		return nil, fmt.Errorf("%w: codeset %s: the file is not a cache file of it", errCacheMiss, codeset)
	}
	return &f, nil
}
