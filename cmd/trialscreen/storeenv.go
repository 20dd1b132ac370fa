package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/trialscreen/trialscreen/store"
)

// storeConfigFromEnv is the store the maintenance commands (db, audit) open: the one
// serve uses with the same environment. cmd names the command in errors.
func storeConfigFromEnv(cmd string, getenv func(string) string, now func() time.Time) (store.Config, error) {
	cfg := store.Config{DataDir: strings.TrimSpace(getenv(envDataDir)), DatabaseURL: strings.TrimSpace(getenv(envDatabaseURL)), Now: now}
	if cfg.DataDir == "" {
		cfg.DataDir = defaultDataDir
	}
	if cfg.DatabaseURL != "" {
		if err := store.CheckDatabaseURL(cfg.DatabaseURL); err != nil {
			return store.Config{}, fmt.Errorf("%s: %s: %v", cmd, envDatabaseURL, err)
		}
	}
	return cfg, nil
}
