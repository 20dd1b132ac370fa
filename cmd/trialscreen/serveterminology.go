package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trialscreen/trialscreen/screening"
	"github.com/trialscreen/trialscreen/terminology"
	"github.com/trialscreen/trialscreen/terminology/txclient"
)

// serveProtocol compiles the protocol the service runs. Without a terminology server it
// is the shipped (or TRIALSCREEN_PROTOCOL's) protocol with the shipped expansions. With
// one (TRIALSCREEN_TERMINOLOGY_URL), every codeset's SNOMED CT codes are expanded there
// first; when it fails, the disk cache under TRIALSCREEN_DATA_DIR stands in, else the
// shipped expansions, and every result's settings say which. The terminology metrics
// are registered on reg either way. mgr is nil without a server; otherwise the caller
// runs its refresh (startTerminologyRefresh).
func serveProtocol(ctx context.Context, cfg serveConfig, site *siteTerms, reg prometheus.Registerer, log *slog.Logger, now func() time.Time) (*screening.Protocol, *txclient.Manager, error) {
	metrics, err := txclient.NewMetrics(reg)
	if err != nil {
		return nil, nil, err
	}
	if cfg.terminologyURL == "" {
		p, err := loadProtocol(cfg.protocol, site)
		if err != nil {
			return nil, nil, err
		}
		metrics.SetSource(txclient.SourceShipped)
		return p, nil, nil
	}
	tcfg := txclient.Config{BaseURL: cfg.terminologyURL}
	if cfg.terminologyTokenFile != "" {
		data, err := os.ReadFile(cfg.terminologyTokenFile)
		if err != nil {
			return nil, nil, fmt.Errorf("serve: %s: %w", envTerminologyTokenFile, err)
		}
		if tcfg.Token = strings.TrimSpace(string(data)); tcfg.Token == "" {
			return nil, nil, fmt.Errorf("serve: %s names an empty file", envTerminologyTokenFile)
		}
	}
	client, err := txclient.New(tcfg)
	if err != nil {
		return nil, nil, usagef("serve: %s: %v", envTerminologyURL, strings.TrimPrefix(err.Error(), "txclient: "))
	}
	mgr := &txclient.Manager{
		Client:  client,
		Cache:   &txclient.Cache{Dir: filepath.Join(cfg.dataDir, "terminology")},
		Metrics: metrics,
		Log:     log,
		Now:     now,
	}
	compile := func(opts screening.Options) (*screening.Protocol, error) { return compileProtocol(cfg.protocol, opts) }
	var voc *terminology.Vocabulary
	if site.custom() {
		voc = site.voc
	}
	p, _, err := mgr.Start(ctx, compile, voc)
	if err != nil {
		client.CloseIdleConnections()
		return nil, nil, err
	}
	return p, mgr, nil
}

// startTerminologyRefresh re-expands every TRIALSCREEN_TERMINOLOGY_REFRESH into the disk
// cache (the running protocol keeps its expansion; the next start reads the cache when
// the server fails). stop ends it and waits.
func startTerminologyRefresh(ctx context.Context, mgr *txclient.Manager, every time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	ticker := time.NewTicker(every)
	done := make(chan struct{})
	go func() {
		defer close(done)
		mgr.Run(ctx, ticker.C)
	}()
	return func() {
		cancel()
		ticker.Stop()
		<-done
		mgr.Client.CloseIdleConnections()
	}
}
