// Package telemetry is how Tenantry is watched in production: Prometheus
// metrics and the logger a request carries in its context.
//
// Two kinds of metric live here. What happens in this process (requests
// served, collection runs it finished) is counted as it happens. What
// the whole deployment shares (the fleet, the job queue, the last
// collection) is read from the central database at scrape time, so that
// every console replica reports the same numbers.
package telemetry

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/tenantry/tenantry/internal/central"
	"github.com/tenantry/tenantry/internal/fleet"
)

// Options configure the metrics.
type Options struct {
	// DB is read at scrape time for the fleet, the job queue and the
	// last collection; nil leaves those out.
	DB *central.DB
	// JobKinds are reported in the queue even when none is waiting, so a
	// dashboard sees zero rather than no data.
	JobKinds []string
	// ReadTimeout bounds the scrape-time reads (default 2 s): a slow
	// central database must not make the scrape itself time out.
	ReadTimeout time.Duration
	Log         *slog.Logger
}

// Metrics holds Tenantry's metrics and the registry they are served from.
type Metrics struct {
	reg            *prometheus.Registry
	requests       *prometheus.HistogramVec
	inFlight       prometheus.Gauge
	runSeconds     prometheus.Histogram
	runs           *prometheus.CounterVec
	tenantFailures prometheus.Counter
}

// New registers every metric on a registry of its own (so tests and
// several servers in one process never collide).
func New(o Options) *Metrics {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = 2 * time.Second
	}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tenantry_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by method, route template and status code.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"method", "route", "code"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tenantry_http_requests_in_flight",
			Help: "HTTP requests being answered now.",
		}),
		runSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "tenantry_collection_run_duration_seconds",
			Help:    "Duration of the metrics collections this process finished.",
			Buckets: []float64{.1, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600},
		}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tenantry_collection_runs_total",
			Help: "Metrics collections this process finished, by outcome (succeeded or failed).",
		}, []string{"outcome"}),
		tenantFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tenantry_collection_tenant_failures_total",
			Help: "Tenants that failed in the metrics collections this process finished.",
		}),
	}
	for _, outcome := range []string{central.RunSucceeded, central.RunFailed} {
		m.runs.WithLabelValues(outcome)
	}
	m.reg.MustRegister(m.requests, m.inFlight, m.runSeconds, m.runs, m.tenantFailures,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if o.DB != nil {
		m.reg.MustRegister(newCentralCollector(o))
	}
	return m
}

// Handler serves the metrics in the Prometheus text format. compress
// gzips them for clients that ask (off where a middleware already does).
func (m *Metrics) Handler(log *slog.Logger, compress bool) http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:           slog.NewLogLogger(log.Handler(), slog.LevelError),
		ErrorHandling:      promhttp.ContinueOnError,
		DisableCompression: !compress,
	})
}

// RequestStarted counts a request in flight until done is called.
func (m *Metrics) RequestStarted() (done func()) {
	m.inFlight.Inc()
	return m.inFlight.Dec
}

// ObserveRequest records an answered request. route must be a route
// template, never the raw path, and method one of a known few: each
// distinct value is a time series kept forever.
func (m *Metrics) ObserveRequest(method, route string, code int, d time.Duration) {
	m.requests.WithLabelValues(method, route, strconv.Itoa(code)).Observe(d.Seconds())
}

// CollectionFinished records a collection run that ended, succeeded or
// failed.
func (m *Metrics) CollectionFinished(r central.CollectRun) {
	m.runs.WithLabelValues(r.State).Inc()
	m.runSeconds.Observe(r.Duration().Seconds())
	m.tenantFailures.Add(float64(r.Failed))
}

// centralCollector reads the shared state at scrape time. A failed read
// is logged and its metrics left out of that scrape; tenantry_central_up
// tells the two apart.
type centralCollector struct {
	db      *central.DB
	kinds   []string
	timeout time.Duration
	log     *slog.Logger

	up, tenants, jobs                                  *prometheus.Desc
	lastDuration, lastSuccess, lastTenants, lastFinish *prometheus.Desc
}

func newCentralCollector(o Options) *centralCollector {
	return &centralCollector{
		db: o.DB, kinds: o.JobKinds, timeout: o.ReadTimeout, log: o.Log,
		up: prometheus.NewDesc("tenantry_central_up",
			"1 if the central database answered this scrape's reads in time, else 0.", nil, nil),
		tenants: prometheus.NewDesc("tenantry_tenants",
			"Tenants in the registry, by status.", []string{"status"}, nil),
		jobs: prometheus.NewDesc("tenantry_jobs",
			"Background jobs queued or running, by state and kind (across every replica).", []string{"state", "kind"}, nil),
		lastDuration: prometheus.NewDesc("tenantry_collection_last_run_duration_seconds",
			"Duration of the last finished collection run, by shard.", []string{"shard"}, nil),
		lastSuccess: prometheus.NewDesc("tenantry_collection_last_run_success",
			"1 if the last finished collection run succeeded, 0 if it failed, by shard.", []string{"shard"}, nil),
		lastTenants: prometheus.NewDesc("tenantry_collection_last_run_tenants",
			"Tenants of the last finished collection run by result (ok, failed, skipped), by shard.", []string{"shard", "result"}, nil),
		lastFinish: prometheus.NewDesc("tenantry_collection_last_run_finished_timestamp_seconds",
			"When the last finished collection run ended (Unix time), by shard.", []string{"shard"}, nil),
	}
}

func (c *centralCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.up, c.tenants, c.jobs, c.lastDuration, c.lastSuccess, c.lastTenants, c.lastFinish} {
		ch <- d
	}
}

func (c *centralCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	up := 1.0
	failed := func(what string, err error) {
		c.log.Error("metrics: read "+what+" from the central database", "err", err)
		up = 0
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}

	if counts, err := c.db.CountTenants(ctx); err != nil {
		failed("tenant counts", err)
	} else {
		byStatus := map[string]int64{}
		for _, s := range fleet.Statuses {
			byStatus[s] = 0
		}
		for _, n := range counts {
			byStatus[n.Status] = n.Count
		}
		for s, n := range byStatus {
			gauge(c.tenants, float64(n), s)
		}
	}

	if counts, err := c.db.ActiveJobCounts(ctx); err != nil {
		failed("job queue", err)
	} else {
		type key struct{ state, kind string }
		queue := map[key]int64{}
		for _, k := range c.kinds {
			queue[key{fleet.JobQueued, k}] = 0
			queue[key{fleet.JobRunning, k}] = 0
		}
		for _, n := range counts {
			queue[key{n.State, n.Kind}] = n.Count
		}
		for k, n := range queue {
			gauge(c.jobs, float64(n), k.state, k.kind)
		}
	}

	if runs, err := c.db.LastFinishedRuns(ctx); err != nil {
		failed("last collection runs", err)
	} else {
		for _, r := range runs {
			shard := r.Shard
			if shard == "" {
				shard = "all"
			}
			success := 0.0
			if r.State == central.RunSucceeded {
				success = 1
			}
			gauge(c.lastDuration, r.Duration().Seconds(), shard)
			gauge(c.lastSuccess, success, shard)
			gauge(c.lastTenants, float64(r.OK), shard, "ok")
			gauge(c.lastTenants, float64(r.Failed), shard, "failed")
			gauge(c.lastTenants, float64(r.Skipped), shard, "skipped")
			gauge(c.lastFinish, float64(r.FinishedAt.UnixMilli())/1000, shard)
		}
	}
	gauge(c.up, up)
}
