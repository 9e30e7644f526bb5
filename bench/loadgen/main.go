// Command loadgen is the benchmarks' HTTP/1.1 load generator: N keep-alive connections,
// either closed-loop (as fast as the server answers) or open-loop at a fixed request rate.
//
// Open loop is coordinated-omission aware: request i is due at start + i/rate, any free
// connection takes the next due request, and its latency is measured from the time it was
// due, not from the time it was sent, so a stalled server shows in the percentiles.
//
// It prints one line to stdout:
//
//	LOADGEN mode=rate rate=1000 conns=16 duration_s=10.000 sent=10000 completed=10000 errors=0 ...
//
// Only loopback targets are accepted.
package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

type options struct {
	target   *url.URL
	addr     string
	conns    int
	rate     float64
	duration time.Duration
	warmup   time.Duration
	timeout  time.Duration
	distinct int
	label    string
}

// result is one connection's tally; merged at the end.
type result struct {
	hist      histogram
	sent      uint64
	completed uint64
	errors    uint64
	inWindow  uint64 // completions that finished inside the measured window
	status    [6]uint64
	lastErr   error
}

func main() {
	opts, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(2)
	}
	results, elapsed, unsent := run(opts)
	total := merge(results)
	fmt.Println(format(opts, total, elapsed, unsent))
	if total.lastErr != nil {
		fmt.Fprintln(os.Stderr, "loadgen: last error:", total.lastErr)
	}
	if total.completed == 0 {
		fmt.Fprintln(os.Stderr, "loadgen: no request completed")
		os.Exit(1)
	}
}

func parseFlags(args []string) (*options, error) {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	rawURL := fs.String("url", "", "target, e.g. http://127.0.0.1:8080/users/1 (loopback only)")
	conns := fs.Int("c", 16, "keep-alive connections")
	rate := fs.Float64("rate", 0, "requests per second over all connections; 0 = closed loop (as fast as possible)")
	duration := fs.Duration("d", 10*time.Second, "how long requests are scheduled")
	warmup := fs.Duration("warmup", 0, "leading part of -d excluded from latency and rate figures")
	timeout := fs.Duration("timeout", 5*time.Second, "connect and per-request timeout")
	distinct := fs.Int("distinct", 0, "if > 0, request i goes to the URL's path followed by i mod N")
	label := fs.String("label", "", "free text copied into the output line (no spaces)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() != 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	u, err := url.Parse(*rawURL)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("-url %q: want http://127.0.0.1:PORT/path", *rawURL)
	}
	host, port := u.Hostname(), u.Port()
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("-url %q: only loopback addresses (127.0.0.0/8, ::1) are allowed", *rawURL)
	}
	if port == "" {
		port = "80"
	}
	switch {
	case *conns < 1 || *conns > 10000:
		return nil, fmt.Errorf("-c %d: want 1 to 10000", *conns)
	case *rate < 0 || *rate > 10_000_000:
		return nil, fmt.Errorf("-rate %g: want 0 (closed loop) to 10000000", *rate)
	case *duration <= 0 || *duration > 24*time.Hour:
		return nil, fmt.Errorf("-d %s: want more than 0 and at most 24h", *duration)
	case *warmup < 0 || *warmup >= *duration:
		return nil, fmt.Errorf("-warmup %s: want at least 0 and less than -d", *warmup)
	case *timeout <= 0:
		return nil, fmt.Errorf("-timeout %s: want more than 0", *timeout)
	case *distinct < 0:
		return nil, fmt.Errorf("-distinct %d: want 0 or more", *distinct)
	case strings.ContainsAny(*label, " \t\n="):
		return nil, fmt.Errorf("-label %q: no spaces or '='", *label)
	}
	if u.Path == "" {
		u.Path = "/"
	}
	return &options{
		target: u, addr: net.JoinHostPort(host, port), conns: *conns, rate: *rate,
		duration: *duration, warmup: *warmup, timeout: *timeout, distinct: *distinct, label: *label,
	}, nil
}

// requestBytes builds request i (the path varies only with -distinct).
func requestBytes(o *options, i uint64, fixed []byte) []byte {
	if o.distinct == 0 {
		return fixed
	}
	path := o.target.EscapedPath() + strconv.FormatUint(i%uint64(o.distinct), 10)
	return buildRequest(path, o.target.RawQuery, o.target.Host)
}

func buildRequest(path, query, host string) []byte {
	if query != "" {
		path += "?" + query
	}
	return []byte("GET " + path + " HTTP/1.1\r\nHost: " + host +
		"\r\nUser-Agent: beyla-bench-loadgen\r\nAccept: */*\r\n\r\n")
}

// ticket is one due request of the open-loop schedule.
type ticket struct {
	i   uint64
	due time.Time
}

// run drives the connections and returns their tallies, the time from start to the last
// completion, and (open loop) how many due requests were never sent because the run
// overran its end by more than the grace period.
func run(o *options) ([]*result, time.Duration, uint64) {
	fixed := buildRequest(o.target.EscapedPath(), o.target.RawQuery, o.target.Host)
	start := time.Now().Add(20 * time.Millisecond) // let every connection get ready
	end := start.Add(o.duration)
	windowStart := start.Add(o.warmup)
	// Open loop: a late server lets due requests pile up; they are still sent (that is the
	// point) but not past this deadline, so a dead server cannot keep the run going.
	hardStop := end.Add(maxDuration(2*time.Second, o.timeout))
	var tickets chan ticket
	if o.rate > 0 {
		// The pacer sleeps in a blocking syscall; the connections need another P meanwhile.
		if runtime.GOMAXPROCS(0) < 4 {
			runtime.GOMAXPROCS(4)
		}
		tickets = make(chan ticket, 1<<16)
		go pace(tickets, start, end, hardStop, o.rate)
	}
	var next atomic.Uint64
	results := make([]*result, o.conns)
	var wg sync.WaitGroup
	var lastDone atomic.Int64
	for w := 0; w < o.conns; w++ {
		res := &result{}
		results[w] = res
		wg.Add(1)
		go func() {
			defer wg.Done()
			k := newConn(o.addr, o.timeout)
			defer k.close()
			if d := time.Until(start); d > 0 {
				time.Sleep(d)
			}
			for {
				var t ticket
				if tickets != nil {
					var ok bool
					if t, ok = <-tickets; !ok {
						return
					}
					if time.Now().After(hardStop) {
						continue // counted as unsent
					}
				} else {
					t = ticket{i: next.Add(1) - 1, due: time.Now()}
					if !t.due.Before(end) {
						return
					}
				}
				res.sent++
				status, err := k.do(requestBytes(o, t.i, fixed), false)
				done := time.Now()
				if err != nil {
					res.errors++
					res.lastErr = err
					// Don't spin on a refused connection in closed loop.
					if tickets == nil && !errors.Is(err, errMalformed) {
						time.Sleep(10 * time.Millisecond)
					}
					continue
				}
				res.completed++
				if c := status / 100; c >= 0 && c < len(res.status) {
					res.status[c]++
				}
				if !t.due.Before(windowStart) {
					res.hist.record(done.Sub(t.due).Nanoseconds())
				}
				if !done.Before(windowStart) && !done.After(end) {
					res.inWindow++
				}
				for {
					old := lastDone.Load()
					if done.UnixNano() <= old || lastDone.CompareAndSwap(old, done.UnixNano()) {
						break
					}
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Duration(lastDone.Load() - start.UnixNano())
	if elapsed < 0 {
		elapsed = 0
	}
	var unsent uint64
	if o.rate > 0 {
		due := dueCount(o.duration, o.rate)
		var sent uint64
		for _, r := range results {
			sent += r.sent
		}
		if due > sent {
			unsent = due - sent
		}
	}
	return results, elapsed, unsent
}

// dueCount is how many requests the schedule holds: those due before the end.
func dueCount(d time.Duration, rate float64) uint64 {
	interval := float64(time.Second) / rate
	n := uint64(float64(d) / interval)
	if float64(n)*interval < float64(d) {
		n++
	}
	return n
}

// pace emits ticket i at start + i/rate. It sleeps with nanosleep on its own thread with a
// 1 µs timer slack: Go's timers round sleeps to about a millisecond, which would show as
// latency in every open-loop percentile.
func pace(tickets chan<- ticket, start, end, hardStop time.Time, rate float64) {
	defer close(tickets)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	const prSetTimerslack = 29
	syscall.RawSyscall(syscall.SYS_PRCTL, prSetTimerslack, 1, 0) // best effort
	interval := float64(time.Second) / rate
	for i := uint64(0); ; i++ {
		due := start.Add(time.Duration(float64(i) * interval))
		if !due.Before(end) {
			return
		}
		if time.Now().After(hardStop) {
			return
		}
		// Sleep again after EINTR (the runtime's preemption signals): never send early.
		for wait := time.Until(due); wait > 0; wait = time.Until(due) {
			ts := syscall.NsecToTimespec(wait.Nanoseconds())
			_ = syscall.Nanosleep(&ts, nil)
		}
		tickets <- ticket{i: i, due: due}
	}
}

func merge(results []*result) *result {
	total := &result{}
	for _, r := range results {
		total.hist.merge(&r.hist)
		total.sent += r.sent
		total.completed += r.completed
		total.errors += r.errors
		total.inWindow += r.inWindow
		for i := range total.status {
			total.status[i] += r.status[i]
		}
		if r.lastErr != nil {
			total.lastErr = r.lastErr
		}
	}
	return total
}

func format(o *options, t *result, elapsed time.Duration, unsent uint64) string {
	mode := "closed"
	if o.rate > 0 {
		mode = "rate"
	}
	window := (o.duration - o.warmup).Seconds()
	us := func(ns float64) string { return strconv.FormatFloat(ns/1e3, 'f', 1, 64) }
	label := o.label
	if label == "" {
		label = "-"
	}
	fields := []string{
		"LOADGEN",
		"label=" + label,
		"mode=" + mode,
		"url=" + o.target.String(),
		"conns=" + strconv.Itoa(o.conns),
		"rate=" + strconv.FormatFloat(o.rate, 'f', -1, 64),
		"duration_s=" + strconv.FormatFloat(o.duration.Seconds(), 'f', 3, 64),
		"warmup_s=" + strconv.FormatFloat(o.warmup.Seconds(), 'f', 3, 64),
		"elapsed_s=" + strconv.FormatFloat(elapsed.Seconds(), 'f', 3, 64),
		"sent=" + strconv.FormatUint(t.sent, 10),
		"completed=" + strconv.FormatUint(t.completed, 10),
		"errors=" + strconv.FormatUint(t.errors, 10),
		"unsent=" + strconv.FormatUint(unsent, 10),
		"status_2xx=" + strconv.FormatUint(t.status[2], 10),
		"status_3xx=" + strconv.FormatUint(t.status[3], 10),
		"status_4xx=" + strconv.FormatUint(t.status[4], 10),
		"status_5xx=" + strconv.FormatUint(t.status[5], 10),
		"achieved_rps=" + strconv.FormatFloat(float64(t.inWindow)/window, 'f', 1, 64),
		"samples=" + strconv.FormatUint(t.hist.total, 10),
		"mean_us=" + us(t.hist.mean()),
		"p50_us=" + us(t.hist.quantile(0.50)),
		"p90_us=" + us(t.hist.quantile(0.90)),
		"p99_us=" + us(t.hist.quantile(0.99)),
		"p999_us=" + us(t.hist.quantile(0.999)),
		"max_us=" + us(float64(t.hist.max)),
	}
	return strings.Join(fields, " ")
}

func maxDuration(a, b time.Duration) time.Duration {
	if a > b {
		return a
	}
	return b
}
