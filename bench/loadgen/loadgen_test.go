package main

import (
	"bufio"
	"math"
	"strings"
	"testing"
)

func TestBucketsKeepSevenSignificantBits(t *testing.T) {
	for _, v := range []int64{0, 1, 127, 128, 255, 256, 1000, 123456, 1 << 40, math.MaxInt64} {
		got := bucketValue(bucketOf(v))
		if rel := math.Abs(got-float64(v)) / math.Max(1, float64(v)); rel > 1.0/128 {
			t.Errorf("value %d: bucket value %.0f, relative error %.4f", v, got, rel)
		}
	}
}

func TestQuantilesOfAUniformSpread(t *testing.T) {
	var h histogram
	for v := int64(1); v <= 100_000; v++ {
		h.record(v * 1000) // 1 µs .. 100 ms
	}
	for _, c := range []struct{ q, want float64 }{{0.5, 50e6}, {0.9, 90e6}, {0.99, 99e6}, {1, 100e6}} {
		if got := h.quantile(c.q); math.Abs(got-c.want)/c.want > 0.01 {
			t.Errorf("q%.2f = %.0f, want %.0f within 1%%", c.q, got, c.want)
		}
	}
	if h.max != 100e6 {
		t.Errorf("max = %d", h.max)
	}
}

func TestReadsEveryResponseFraming(t *testing.T) {
	cases := []struct {
		name, in   string
		head       bool
		status     int
		keep       bool
		restPrefix string
	}{
		{"content-length", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcNEXT", false, 200, true, "NEXT"},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nNEXT", false, 200, true, "NEXT"},
		{"http/1.0 closes", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nxNEXT", false, 200, false, "NEXT"},
		{"connection close", "HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\nNEXT", false, 404, false, "NEXT"},
		{"interim 100 skipped", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\nNEXT", false, 204, true, "NEXT"},
		{"head has no body", "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\nNEXT", true, 200, true, "NEXT"},
		{"until close", "HTTP/1.1 200 OK\r\n\r\nbody", false, 200, false, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := bufio.NewReader(strings.NewReader(c.in))
			status, keep, err := readResponse(r, c.head)
			if err != nil || status != c.status || keep != c.keep {
				t.Fatalf("got %d keep=%v err=%v, want %d keep=%v", status, keep, err, c.status, c.keep)
			}
			rest, _ := r.Peek(len(c.restPrefix))
			if string(rest) != c.restPrefix {
				t.Fatalf("left %q, want %q", rest, c.restPrefix)
			}
		})
	}
}

func TestRejectsNonLoopbackTargets(t *testing.T) {
	for _, u := range []string{"http://10.0.0.1:80/", "http://example.com/", "https://127.0.0.1/"} {
		if _, err := parseFlags([]string{"-url", u}); err == nil {
			t.Errorf("%s accepted", u)
		}
	}
	if _, err := parseFlags([]string{"-url", "http://127.0.0.1:8080/x"}); err != nil {
		t.Errorf("loopback refused: %v", err)
	}
}
