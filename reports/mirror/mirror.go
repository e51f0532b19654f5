// Package mirror copies the published releases to S3-compatible object
// storage (OVHcloud, Scaleway, Outscale, MinIO, SeaweedFS…), Parquet hive
// layout unchanged, so that Spark, Trino, DuckDB (httpfs), polars or
// pyarrow read them in place:
//
//	s3://BUCKET/PREFIX/releases/<id>/…   every file of each live release
//	s3://BUCKET/PREFIX/catalog.jsonld    the DCAT catalogue, when published
//	s3://BUCKET/PREFIX/latest.json       {"release_id": …, "path": "releases/<id>/"}
//
// Upload order keeps every state consistent for readers: a release's data
// files first, then its metadata (datapackage, changes, README, manifest
// last), then the catalogue, then latest.json; releases no longer kept
// locally are deleted last. An object whose SHA-256 (kept in its metadata)
// is already the file's is not sent again, so a rerun after a failure
// sends only what is missing; a failure leaves latest.json as it was.
package mirror

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/capstat/capstat/reports/release"
)

// Target is an S3 location, s3://bucket/prefix, on an endpoint.
type Target struct {
	Endpoint string // host:port or https://host (AWS when empty)
	Region   string
	Bucket   string
	Prefix   string // "" or "a/b" (no leading or trailing slash)
	Secure   bool   // https
	// Credentials, from the environment as every S3 tool reads them
	// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) unless set.
	AccessKey, SecretKey string
}

// ParseTarget reads s3://bucket/prefix with its endpoint
// ("https://s3.gra.io.cloud.ovh.net", or host:port for http).
func ParseTarget(s3URL, endpoint, region string) (Target, error) {
	u, err := url.Parse(s3URL)
	if err != nil || u.Scheme != "s3" || u.Host == "" {
		return Target{}, fmt.Errorf("mirror: %q is not s3://bucket/prefix", s3URL)
	}
	t := Target{Bucket: u.Host, Prefix: strings.Trim(u.Path, "/"), Region: region, Secure: true, Endpoint: "s3.amazonaws.com"}
	if endpoint != "" {
		e, err := url.Parse(endpoint)
		switch {
		case err == nil && (e.Scheme == "http" || e.Scheme == "https") && e.Host != "":
			t.Endpoint, t.Secure = e.Host, e.Scheme == "https"
		case err == nil && e.Scheme == "" || strings.Contains(endpoint, ":"):
			t.Endpoint, t.Secure = endpoint, false
		default:
			return Target{}, fmt.Errorf("mirror: endpoint %q is not a URL or host:port", endpoint)
		}
	}
	return t, nil
}

// Stats says what a Mirror did.
type Stats struct {
	Uploaded, Skipped, Deleted int
	Bytes                      int64
	Duration                   time.Duration
}

// Mirror copies the live releases of outDir to t and points latest.json
// at the current one.
func Mirror(ctx context.Context, outDir string, t Target, log *slog.Logger) (Stats, error) {
	start := time.Now()
	var st Stats
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ak, sk := t.AccessKey, t.SecretKey
	if ak == "" {
		ak, sk = os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	}
	c, err := minio.New(t.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(ak, sk, os.Getenv("AWS_SESSION_TOKEN")), Secure: t.Secure, Region: t.Region})
	if err != nil {
		return st, fmt.Errorf("mirror: %w", err)
	}
	cur, err := release.Current(outDir)
	if err != nil {
		return st, fmt.Errorf("mirror: %w", err)
	}
	ids, err := release.List(filepath.Join(outDir, release.ReleasesDir))
	if err != nil {
		return st, fmt.Errorf("mirror: %w", err)
	}
	key := func(rel string) string { return path.Join(t.Prefix, rel) }
	put := func(local, objectKey, sum, contentType string) error {
		info, err := c.StatObject(ctx, t.Bucket, objectKey, minio.StatObjectOptions{})
		if err == nil && info.UserMetadata["Sha256"] == sum && sum != "" {
			st.Skipped++
			return nil
		}
		f, err := os.Open(local)
		if err != nil {
			return err
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			return err
		}
		_, err = c.PutObject(ctx, t.Bucket, objectKey, f, fi.Size(), minio.PutObjectOptions{
			ContentType: contentType, UserMetadata: map[string]string{"sha256": sum},
		})
		if err != nil {
			return fmt.Errorf("put %s: %w", objectKey, err)
		}
		st.Uploaded++
		st.Bytes += fi.Size()
		return nil
	}
	for _, id := range ids {
		rel, err := release.Open(filepath.Join(outDir, release.ReleasesDir, id))
		if err != nil {
			return st, fmt.Errorf("mirror: %w", err)
		}
		var data, meta []release.FileEntry
		for _, f := range rel.Manifest.Files {
			if f.Dataset != "" || f.Path == release.SnapshotFile {
				data = append(data, f)
			} else {
				meta = append(meta, f)
			}
		}
		for _, f := range append(data, meta...) {
			if err := put(filepath.Join(rel.Dir, filepath.FromSlash(f.Path)), key(path.Join(release.ReleasesDir, id, f.Path)), f.SHA256, contentType(f.Path)); err != nil {
				return st, fmt.Errorf("mirror release %s: %w", id, err)
			}
		}
		// The manifest, which lists the others, goes last.
		mpath := filepath.Join(rel.Dir, release.ManifestFile)
		if err := putFresh(ctx, c, t.Bucket, key(path.Join(release.ReleasesDir, id, release.ManifestFile)), mpath, "application/json", &st); err != nil {
			return st, fmt.Errorf("mirror release %s: %w", id, err)
		}
	}
	for _, name := range []string{"catalog.jsonld", "catalog.rdf"} {
		p := filepath.Join(outDir, name)
		if _, err := os.Stat(p); err == nil {
			if err := putFresh(ctx, c, t.Bucket, key(name), p, contentType(name), &st); err != nil {
				return st, fmt.Errorf("mirror: %w", err)
			}
		}
	}
	pointer, _ := json.Marshal(map[string]string{"release_id": cur.ID, "path": release.ReleasesDir + "/" + cur.ID + "/"})
	if _, err := c.PutObject(ctx, t.Bucket, key("latest.json"), strings.NewReader(string(pointer)+"\n"), int64(len(pointer)+1),
		minio.PutObjectOptions{ContentType: "application/json", CacheControl: "no-cache"}); err != nil {
		return st, fmt.Errorf("mirror: latest.json: %w", err)
	}
	// Prune what is no longer kept locally.
	live := map[string]bool{}
	for _, id := range ids {
		live[id] = true
	}
	prefix := key(release.ReleasesDir) + "/"
	for obj := range c.ListObjects(ctx, t.Bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if obj.Err != nil {
			return st, fmt.Errorf("mirror: list: %w", obj.Err)
		}
		id, _, _ := strings.Cut(strings.TrimPrefix(obj.Key, prefix), "/")
		if live[id] {
			continue
		}
		if err := c.RemoveObject(ctx, t.Bucket, obj.Key, minio.RemoveObjectOptions{}); err != nil {
			return st, fmt.Errorf("mirror: delete %s: %w", obj.Key, err)
		}
		st.Deleted++
	}
	st.Duration = time.Since(start)
	log.Info("mirror: done", "bucket", t.Bucket, "prefix", t.Prefix, "release", cur.ID, "uploaded", st.Uploaded,
		"skipped", st.Skipped, "deleted", st.Deleted, "bytes", st.Bytes, "elapsed", st.Duration)
	return st, nil
}

// putFresh uploads a small file that is rewritten in place (metadata,
// catalogue) unless the object already holds the same bytes.
func putFresh(ctx context.Context, c *minio.Client, bucket, objectKey, local, ctype string, st *Stats) error {
	b, err := os.ReadFile(local)
	if err != nil {
		return err
	}
	if o, err := c.GetObject(ctx, bucket, objectKey, minio.GetObjectOptions{}); err == nil {
		old, err := io.ReadAll(o)
		o.Close()
		if err == nil && bytes.Equal(old, b) {
			st.Skipped++
			return nil
		}
	}
	if _, err := c.PutObject(ctx, bucket, objectKey, strings.NewReader(string(b)), int64(len(b)), minio.PutObjectOptions{ContentType: ctype}); err != nil {
		return fmt.Errorf("put %s: %w", objectKey, err)
	}
	st.Uploaded++
	st.Bytes += int64(len(b))
	return nil
}

func contentType(name string) string {
	switch path.Ext(name) {
	case ".parquet":
		return "application/vnd.apache.parquet"
	case ".csv":
		return "text/csv; charset=utf-8"
	case ".json":
		return "application/json"
	case ".jsonld":
		return "application/ld+json"
	case ".rdf":
		return "application/rdf+xml"
	case ".md":
		return "text/markdown; charset=utf-8"
	}
	return "application/octet-stream"
}
