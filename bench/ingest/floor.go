package main

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// recorder is an HTTP transport that writes the crawl's requests (URL,
// headers, body) to a file, so that the decode-only floor can replay them
// without growing the crawl's memory.
type recorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	f    *os.File
	enc  *gob.Encoder
	n    int
	err  error
}

type recorded struct {
	URL    string
	Header http.Header
	Body   []byte
}

func newRecorder(next http.RoundTripper) (*recorder, error) {
	f, err := os.CreateTemp("", "ingestbench-requests-*.gob")
	if err != nil {
		return nil, err
	}
	os.Remove(f.Name()) // kept open until the replay
	return &recorder{next: next, f: f, enc: gob.NewEncoder(f)}, nil
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	req.Body.Close()
	r.mu.Lock()
	if r.err == nil {
		r.err = r.enc.Encode(recorded{req.URL.String(), req.Header.Clone(), body})
	}
	r.n++
	r.mu.Unlock()
	req.Body = io.NopCloser(bytes.NewReader(body))
	return r.next.RoundTrip(req)
}

// replay sends the recorded requests again with workers goroutines and
// decodes each answer into Go values (encoding/json into any), nothing
// else: the floor of a client's CPU over the same pages. It returns the
// CPU time spent.
func (r *recorder) replay(workers int) (time.Duration, error) {
	jobs := make(chan recorded)
	var firstErr atomic.Pointer[error]
	var wg sync.WaitGroup
	hc := &http.Client{Transport: http.DefaultTransport}
	cpu0 := cpuTime()
	for range max(1, workers) {
		wg.Go(func() {
			for rq := range jobs {
				req, _ := http.NewRequest(http.MethodPost, rq.URL, bytes.NewReader(rq.Body))
				req.Header = rq.Header
				resp, err := hc.Do(req)
				if err != nil {
					firstErr.CompareAndSwap(nil, &err)
					continue
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					firstErr.CompareAndSwap(nil, &err)
					continue
				}
				var v any
				if err := json.Unmarshal(b, &v); err != nil {
					err = fmt.Errorf("replay: %w", err)
					firstErr.CompareAndSwap(nil, &err)
					continue
				}
			}
		})
	}
	if r.err != nil {
		return 0, r.err
	}
	if _, err := r.f.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	dec := gob.NewDecoder(r.f)
	var derr error
	for {
		var rq recorded
		if derr = dec.Decode(&rq); derr != nil {
			break
		}
		jobs <- rq
	}
	close(jobs)
	wg.Wait()
	if derr != io.EOF {
		return 0, derr
	}
	if p := firstErr.Load(); p != nil {
		return 0, *p
	}
	return cpuTime() - cpu0, nil
}
