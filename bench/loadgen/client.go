package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// conn is one keep-alive HTTP/1.1 connection. It sends a request, reads the whole
// response (Content-Length, chunked, or until close) and reconnects when the server closed.
type conn struct {
	addr    string
	timeout time.Duration
	c       net.Conn
	r       *bufio.Reader
}

var errMalformed = errors.New("malformed response")

func newConn(addr string, timeout time.Duration) *conn {
	return &conn{addr: addr, timeout: timeout}
}

func (k *conn) close() {
	if k.c != nil {
		k.c.Close()
		k.c = nil
	}
}

// do sends req and returns the response status code. On any error the connection is
// closed; the next call reconnects.
func (k *conn) do(req []byte, head bool) (int, error) {
	if k.c == nil {
		c, err := net.DialTimeout("tcp", k.addr, k.timeout)
		if err != nil {
			return 0, err
		}
		k.c = c
		if k.r == nil {
			k.r = bufio.NewReaderSize(c, 16<<10)
		} else {
			k.r.Reset(c)
		}
	}
	if err := k.c.SetDeadline(time.Now().Add(k.timeout)); err != nil {
		k.close()
		return 0, err
	}
	if _, err := k.c.Write(req); err != nil {
		k.close()
		return 0, err
	}
	status, keep, err := readResponse(k.r, head)
	if err != nil || !keep {
		k.close()
	}
	return status, err
}

// readResponse reads one response and reports its status and whether the connection
// may be reused. 1xx interim responses are skipped.
func readResponse(r *bufio.Reader, head bool) (status int, keepAlive bool, err error) {
	for {
		status, keepAlive, err = readOne(r, head)
		if err != nil || status >= 200 || status == 101 {
			return status, keepAlive, err
		}
	}
}

func readOne(r *bufio.Reader, head bool) (int, bool, error) {
	line, err := readLine(r)
	if err != nil {
		return 0, false, err
	}
	// "HTTP/1.1 200 OK"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return 0, false, fmt.Errorf("%w: status line %q", errMalformed, line)
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, false, fmt.Errorf("%w: status line %q", errMalformed, line)
	}
	keepAlive := line[7] == '1' // HTTP/1.1 defaults to keep-alive, 1.0 to close
	contentLength := int64(-1)
	chunked := false
	for i := 0; ; i++ {
		if i > 200 {
			return 0, false, fmt.Errorf("%w: too many header lines", errMalformed)
		}
		h, err := readLine(r)
		if err != nil {
			return 0, false, err
		}
		if len(h) == 0 {
			break
		}
		colon := bytes.IndexByte(h, ':')
		if colon <= 0 {
			return 0, false, fmt.Errorf("%w: header %q", errMalformed, h)
		}
		name, value := h[:colon], bytes.TrimSpace(h[colon+1:])
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			n, err := strconv.ParseInt(string(value), 10, 64)
			if err != nil || n < 0 {
				return 0, false, fmt.Errorf("%w: content-length %q", errMalformed, value)
			}
			contentLength = n
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.Contains(bytes.ToLower(value), []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			v := bytes.ToLower(value)
			if bytes.Contains(v, []byte("close")) {
				keepAlive = false
			} else if bytes.Contains(v, []byte("keep-alive")) {
				keepAlive = true
			}
		}
	}
	switch {
	case head || status < 200 || status == 204 || status == 304:
		return status, keepAlive, nil
	case chunked:
		return status, keepAlive, discardChunked(r)
	case contentLength >= 0:
		_, err := r.Discard(int(contentLength))
		return status, keepAlive, err
	default: // body delimited by the end of the connection
		_, err := io.Copy(io.Discard, r)
		return status, false, err
	}
}

func discardChunked(r *bufio.Reader) error {
	for i := 0; ; i++ {
		if i > 1_000_000 {
			return fmt.Errorf("%w: too many chunks", errMalformed)
		}
		line, err := readLine(r)
		if err != nil {
			return err
		}
		if semi := bytes.IndexByte(line, ';'); semi >= 0 {
			line = line[:semi]
		}
		size, err := strconv.ParseInt(string(bytes.TrimSpace(line)), 16, 64)
		if err != nil || size < 0 {
			return fmt.Errorf("%w: chunk size %q", errMalformed, line)
		}
		if size == 0 {
			// trailers until the empty line
			for j := 0; ; j++ {
				if j > 200 {
					return fmt.Errorf("%w: too many trailer lines", errMalformed)
				}
				t, err := readLine(r)
				if err != nil {
					return err
				}
				if len(t) == 0 {
					return nil
				}
			}
		}
		if _, err := r.Discard(int(size) + 2); err != nil {
			return err
		}
	}
}

// readLine returns a line without its CRLF; the slice is valid until the next read.
func readLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		if err == bufio.ErrBufferFull {
			return nil, fmt.Errorf("%w: line longer than %d bytes", errMalformed, r.Size())
		}
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}
