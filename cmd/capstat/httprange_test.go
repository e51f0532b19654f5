package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/parquet/file"
)

// httpFile reads a remote file with HTTP range requests, as a reader that
// queries Parquet over HTTP does (footer first, then the column chunks).
type httpFile struct {
	url          string
	size, offset int64
	requests     int
	read         int64
}

func openHTTPFile(t *testing.T, url string) *httpFile {
	t.Helper()
	resp, err := http.Head(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Accept-Ranges") != "bytes" {
		t.Fatalf("HEAD %s: %d, Accept-Ranges %q", url, resp.StatusCode, resp.Header.Get("Accept-Ranges"))
	}
	size, err := strconv.ParseInt(resp.Header.Get("Content-Length"), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return &httpFile{url: url, size: size}
}

func (f *httpFile) ReadAt(p []byte, off int64) (int, error) {
	if off >= f.size {
		return 0, io.EOF
	}
	end := min(off+int64(len(p)), f.size) - 1
	req, _ := http.NewRequest(http.MethodGet, f.url, nil)
	req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", off, end))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent {
		return 0, fmt.Errorf("range %d-%d: %s", off, end, resp.Status)
	}
	n, err := io.ReadFull(resp.Body, p[:end-off+1])
	f.requests++
	f.read += int64(n)
	if err == nil && n < len(p) {
		err = io.EOF
	}
	return n, err
}

func (f *httpFile) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
		f.offset = offset
	case io.SeekCurrent:
		f.offset += offset
	case io.SeekEnd:
		f.offset = f.size + offset
	default:
		return 0, errors.New("bad whence")
	}
	return f.offset, nil
}

// checkParquetOverHTTP reads a Parquet file of the daemon's current
// release with range requests only and returns its row count.
func checkParquetOverHTTP(t *testing.T, url string) int64 {
	t.Helper()
	f := openHTTPFile(t, url)
	r, err := file.NewParquetReader(f)
	if err != nil {
		t.Fatalf("read %s over HTTP ranges: %v", url, err)
	}
	defer r.Close()
	if f.requests == 0 || f.read >= f.size && f.size > 64<<10 {
		t.Errorf("%s: %d range requests read %d of %d bytes", url, f.requests, f.read, f.size)
	}
	return r.NumRows()
}
