package mirror

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/capstat/capstat/reports/release"
	"github.com/capstat/capstat/reports/releasetest"
)

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// seaweed starts a real S3 server (SeaweedFS's weed, from $CAPSTAT_WEED or
// PATH; .ci/run builds it) and returns its host:port with a bucket made.
func seaweed(t *testing.T, bucket string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("starts an S3 server")
	}
	bin := os.Getenv("CAPSTAT_WEED")
	if bin == "" {
		bin, _ = exec.LookPath("weed")
	}
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("no SeaweedFS weed binary (set CAPSTAT_WEED; .ci/run builds it)")
		}
		t.Skip("no SeaweedFS weed binary: the S3 mirror test needs a real S3 server (set CAPSTAT_WEED)")
	}
	dir := t.TempDir()
	// Ports below 45000: SeaweedFS also listens on port+10000 for gRPC.
	port := func() int {
		for {
			if p := freePort(t); p < 45000 {
				return p
			}
		}
	}
	s3 := port()
	cmd := exec.Command(bin, "server", "-dir="+dir, "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
		fmt.Sprintf("-master.port=%d", port()), fmt.Sprintf("-volume.port=%d", port()), fmt.Sprintf("-filer.port=%d", port()),
		"-s3", fmt.Sprintf("-s3.port=%d", s3), "-volume.max=5")
	logf, _ := os.Create(filepath.Join(dir, "weed.log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait(); logf.Close() })
	addr := fmt.Sprintf("127.0.0.1:%d", s3)
	c, err := minio.New(addr, &minio.Options{Creds: credentials.NewStaticV4("", "", "")})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{})
		cancel()
		if err == nil {
			return addr
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(dir, "weed.log"))
			t.Fatalf("SeaweedFS S3 did not come up: %v\n%s", err, b[max(0, len(b)-3000):])
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// smallRelease publishes a tiny release at now into out.
func smallRelease(t *testing.T, out string, now time.Time, proposals int) *release.Release {
	rows := &releasetest.Rows{Cols: []string{"source", "proposal_id", "project_id", "title", "votes_count"}}
	for i := range proposals {
		rows.Add("landes", fmt.Sprintf("p%d", i), "P1", fmt.Sprintf("Proposition %d", i), int64(i))
	}
	votes := &releasetest.Rows{Cols: []string{"source", "vote_id", "proposal_id", "project_id"}}
	for i := range 3 * proposals {
		votes.Add("landes", fmt.Sprint(i), fmt.Sprintf("p%d", i%proposals), "P1")
	}
	db := releasetest.WorkingDB(t, releasetest.Tables{"proposals": rows, "proposal_votes": votes})
	return &releasetest.Publish(t, db, out, now).Release
}

// TestMirrorToS3 mirrors two releases to a real S3 server, then reads the
// bucket back with an independent client (boto3) and an independent
// Parquet reader (arrow-go): same files, same SHA-256, same rows. A rerun
// sends nothing; with retention 1 the older release goes from the bucket
// too, and latest.json follows the current one.
func TestMirrorToS3(t *testing.T) {
	addr := seaweed(t, "opendata")
	out := t.TempDir()
	ctx := context.Background()
	first := smallRelease(t, out, time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC), 5)
	target, err := ParseTarget("s3://opendata/capstat", addr, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	st, err := Mirror(ctx, out, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Uploaded < len(first.Manifest.Files) {
		t.Errorf("first mirror uploaded %d objects for %d files", st.Uploaded, len(first.Manifest.Files))
	}
	again, err := Mirror(ctx, out, target, nil)
	if err != nil || again.Uploaded != 0 || again.Skipped < len(first.Manifest.Files) { // (latest.json is always rewritten)
		t.Errorf("rerun: %+v, %v; want every file skipped", again, err)
	}

	python := "/usr/bin/python3"
	if exec.Command(python, "-c", "import boto3").Run() != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("python3-boto3 is not installed")
		}
		t.Skip("python3-boto3 not installed: the independent reader did not run")
	}
	read := func(t *testing.T, rel *release.Release) (latest map[string]string, files map[string]string) {
		t.Helper()
		dl := t.TempDir()
		script := `import sys, json, hashlib, os, boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1], aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")
out = {}
for page in s3.get_paginator("list_objects_v2").paginate(Bucket="opendata", Prefix="capstat/"):
    for o in page.get("Contents", []):
        body = s3.get_object(Bucket="opendata", Key=o["Key"])["Body"].read()
        out[o["Key"]] = hashlib.sha256(body).hexdigest()
        if o["Key"].endswith(".parquet"):
            p = os.path.join(sys.argv[2], o["Key"].replace("/", "_"))
            open(p, "wb").write(body)
latest = json.loads(s3.get_object(Bucket="opendata", Key="capstat/latest.json")["Body"].read())
print(json.dumps({"latest": latest, "files": out}))
`
		b, err := exec.Command(python, "-c", script, "http://"+addr, dl).CombinedOutput()
		if err != nil {
			t.Fatalf("boto3: %v\n%s", err, b)
		}
		var res struct {
			Latest map[string]string `json:"latest"`
			Files  map[string]string `json:"files"`
		}
		if err := json.Unmarshal(b, &res); err != nil {
			t.Fatalf("boto3 output: %v\n%s", err, b)
		}
		// Parquet row counts with arrow-go, not DuckDB (which wrote them).
		for _, f := range rel.Manifest.Files {
			if f.Format != "parquet" || f.Rows == nil {
				continue
			}
			p := filepath.Join(dl, strings.ReplaceAll("capstat/releases/"+res.Latest["release_id"]+"/"+f.Path, "/", "_"))
			r, err := file.OpenParquetFile(p, false)
			if err != nil {
				t.Errorf("%s: not read back: %v", f.Path, err)
				continue
			}
			if r.NumRows() != *f.Rows {
				t.Errorf("%s: %d rows read back, manifest %d", f.Path, r.NumRows(), *f.Rows)
			}
			r.Close()
		}
		return res.Latest, res.Files
	}
	latest, files := read(t, first)
	if latest["release_id"] != first.ID {
		t.Errorf("latest.json = %v, want %s", latest, first.ID)
	}
	for _, f := range first.Manifest.Files {
		key := "capstat/releases/" + first.ID + "/" + f.Path
		if files[key] != f.SHA256 {
			t.Errorf("%s: sha256 %q in the bucket, %q in the manifest", key, files[key], f.SHA256)
		}
	}
	manifest, _ := os.ReadFile(filepath.Join(first.Dir, release.ManifestFile))
	sum := sha256.Sum256(manifest)
	if files["capstat/releases/"+first.ID+"/manifest.json"] != hex.EncodeToString(sum[:]) {
		t.Error("manifest.json not mirrored as it is")
	}

	// A second release with retention 1: the first goes, locally and in the bucket.
	second := smallRelease(t, out, time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC), 7)
	if _, err := release.ApplyRetention(filepath.Join(out, release.ReleasesDir), second.ID, 1); err != nil {
		t.Fatal(err)
	}
	st, err = Mirror(ctx, out, target, nil)
	if err != nil || st.Deleted == 0 {
		t.Fatalf("mirror after retention: %+v, %v", st, err)
	}
	latest, files = read(t, second)
	if latest["release_id"] != second.ID {
		t.Errorf("latest.json = %v, want %s", latest, second.ID)
	}
	for key := range files {
		if strings.Contains(key, first.ID) {
			t.Errorf("%s: the pruned release is still in the bucket", key)
		}
	}
}

func TestParseTarget(t *testing.T) {
	for _, tt := range []struct {
		url, endpoint, host, bucket, prefix string
		secure, bad                         bool
	}{
		{"s3://opendata/capstat/v1", "https://s3.gra.io.cloud.ovh.net", "s3.gra.io.cloud.ovh.net", "opendata", "capstat/v1", true, false},
		{"s3://opendata", "127.0.0.1:8333", "127.0.0.1:8333", "opendata", "", false, false},
		{"s3://opendata/x", "", "s3.amazonaws.com", "opendata", "x", true, false},
		{"https://opendata/x", "", "", "", "", false, true},
	} {
		got, err := ParseTarget(tt.url, tt.endpoint, "")
		if (err != nil) != tt.bad {
			t.Errorf("%s: %v", tt.url, err)
			continue
		}
		if !tt.bad && (got.Endpoint != tt.host || got.Bucket != tt.bucket || got.Prefix != tt.prefix || got.Secure != tt.secure) {
			t.Errorf("%s %s = %+v", tt.url, tt.endpoint, got)
		}
	}
}
