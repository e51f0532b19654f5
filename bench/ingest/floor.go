package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// recorder is an HTTP transport that keeps the crawl's requests (URL,
// headers, body) so that the decode-only floor can replay them.
type recorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	reqs []recorded
}

type recorded struct {
	url    string
	header http.Header
	body   []byte
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	req.Body.Close()
	r.mu.Lock()
	r.reqs = append(r.reqs, recorded{req.URL.String(), req.Header.Clone(), body})
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
				req, _ := http.NewRequest(http.MethodPost, rq.url, bytes.NewReader(rq.body))
				req.Header = rq.header
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
	for _, rq := range r.reqs {
		jobs <- rq
	}
	close(jobs)
	wg.Wait()
	if p := firstErr.Load(); p != nil {
		return 0, *p
	}
	return cpuTime() - cpu0, nil
}
