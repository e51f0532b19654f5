package daemon

import (
	"github.com/capstat/capstat/internal/apierror"

	"bytes"
	"html/template"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Cache policies.
const (
	cacheImmutable   = "public, max-age=31536000, immutable" // releases/<id>/ never change
	cacheRevalidate  = "public, no-cache"                    // latest/ and the site change in place
	contentTypeOctet = "application/octet-stream"
)

// contentTypes maps extensions to the types the release layout promises;
// others fall back to mime.TypeByExtension, then application/octet-stream
// (never sniffed: nosniff is set everywhere).
var contentTypes = map[string]string{
	".parquet": "application/vnd.apache.parquet",
	".csv":     "text/csv; charset=utf-8",
	".json":    "application/json",
	".jsonld":  "application/ld+json",
	".rdf":     "application/rdf+xml",
	".geojson": "application/geo+json",
	".duckdb":  contentTypeOctet,
	".atom":    "application/atom+xml",
	".xml":     "application/xml",
	".md":      "text/markdown; charset=utf-8",
	".txt":     "text/plain; charset=utf-8",
	".html":    "text/html; charset=utf-8",
	".css":     "text/css; charset=utf-8",
	".js":      "text/javascript; charset=utf-8",
	".mjs":     "text/javascript; charset=utf-8",
	".svg":     "image/svg+xml",
	".png":     "image/png",
	".jpg":     "image/jpeg",
	".jpeg":    "image/jpeg",
	".webp":    "image/webp",
	".ico":     "image/x-icon",
	".woff2":   "font/woff2",
	".woff":    "font/woff",
	".pdf":     "application/pdf",
	".zip":     "application/zip",
	".gz":      "application/gzip",
	".zst":     "application/zstd",
	".sql":     "text/plain; charset=utf-8",
}

func contentTypeFor(name string) string {
	ext := strings.ToLower(path.Ext(name))
	if ct, ok := contentTypes[ext]; ok {
		return ct
	}
	if ct := mime.TypeByExtension(ext); ct != "" {
		return ct
	}
	return contentTypeOctet
}

// cleanRel turns the URL remainder into a path relative to a folder of DIR.
// It rejects "..", ".", empty elements and hidden names (temporary files and
// symlinks of the publisher start with a dot). ok=false means 404.
func cleanRel(rest string) (rel string, ok bool) {
	rest = strings.TrimSuffix(rest, "/")
	if rest == "" {
		return ".", true
	}
	if !fs.ValidPath(rest) {
		return "", false
	}
	for _, el := range strings.Split(rest, "/") {
		if strings.HasPrefix(el, ".") {
			return "", false
		}
	}
	return rest, true
}

type dirMode int

const (
	dirIndexOnly dirMode = iota // serve index.html or 404 (the site)
	dirList                     // index.html, else a listing (downloads)
)

// serveFile serves base/rest from the DIR root with ETag, Last-Modified,
// conditional and range requests. Files are opened through os.Root, so a
// symlink that leaves DIR is refused. Small files are kept in memory
// (fileCache); large ones are sent with sendfile.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, base, rest, cacheControl string, mode dirMode) {
	rel, ok := cleanRel(rest)
	if !ok {
		s.notFound(w, r)
		return
	}
	name := path.Join(base, rel)
	now := time.Now()
	if e := s.files.get(name, now, s.revalidate); e != nil {
		if e.dirIndex && !strings.HasSuffix(r.URL.Path, "/") {
			http.Redirect(w, r, path.Base(r.URL.Path)+"/", http.StatusMovedPermanently)
			return
		}
		h := w.Header()
		h.Set("Content-Type", e.ctype)
		h.Set("ETag", e.etag)
		h.Set("Cache-Control", cacheControl)
		http.ServeContent(w, r, "", e.modTime, bytes.NewReader(e.data))
		return
	}
	f, err := s.root.Open(name)
	if err != nil {
		s.notFound(w, r)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		s.notFound(w, r)
		return
	}
	fileName, dirIndex := name, false
	if fi.IsDir() {
		if !strings.HasSuffix(r.URL.Path, "/") {
			// Redirect to the same path plus a slash (a path, never another host).
			http.Redirect(w, r, path.Base(r.URL.Path)+"/", http.StatusMovedPermanently)
			return
		}
		idx, err := s.root.Open(path.Join(name, "index.html"))
		if err != nil {
			if mode == dirList {
				s.listDir(w, r, name)
				return
			}
			s.notFound(w, r)
			return
		}
		defer idx.Close()
		ifi, err := idx.Stat()
		if err != nil || !ifi.Mode().IsRegular() {
			s.notFound(w, r)
			return
		}
		f, fi, fileName, dirIndex = idx, ifi, path.Join(name, "index.html"), true
	}
	if !fi.Mode().IsRegular() {
		s.notFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", contentTypeFor(fileName))
	h.Set("ETag", etagOf(fi))
	h.Set("Cache-Control", cacheControl)
	if s.files != nil && fi.Size() <= s.files.maxFile {
		data := make([]byte, fi.Size())
		if _, err := io.ReadFull(f, data); err == nil {
			if after, err := f.Stat(); err == nil && after.Size() == fi.Size() && after.ModTime().Equal(fi.ModTime()) {
				s.files.put(name, &cachedFile{name: fileName, dirIndex: dirIndex, data: data, modTime: fi.ModTime(),
					etag: h.Get("ETag"), ctype: h.Get("Content-Type"), checked: now})
			}
			http.ServeContent(w, r, "", fi.ModTime(), bytes.NewReader(data))
			return
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			s.notFound(w, r)
			return
		}
	}
	http.ServeContent(w, r, "", fi.ModTime(), f)
}

// revalidate reports whether a cached file is unchanged on disk.
func (s *Server) revalidate(e *cachedFile) bool {
	fi, err := s.root.Stat(e.name)
	return err == nil && fi.Mode().IsRegular() && fi.Size() == int64(len(e.data)) && fi.ModTime().Equal(e.modTime)
}

// etagOf is a strong validator from size and modification time (release
// files are immutable; site files are rewritten whole).
func etagOf(fi fs.FileInfo) string {
	return `"` + strconv.FormatInt(fi.Size(), 36) + "-" + strconv.FormatInt(fi.ModTime().UnixNano(), 36) + `"`
}

var listTemplate = template.Must(template.New("list").Parse(`<!DOCTYPE html>
<html lang="fr">
<head><meta charset="utf-8"><title>Index de {{.Path}}</title></head>
<body>
<h1>Index de {{.Path}}</h1>
<ul>
{{if .Parent}}<li><a href="../">../</a></li>{{end}}
{{range .Entries}}<li><a href="{{.Href}}">{{.Name}}</a>{{if .Size}} ({{.Size}} octets){{end}}</li>
{{end}}</ul>
</body>
</html>
`))

type listEntry struct {
	Name, Href string
	Size       int64
}

// listDir renders a plain HTML index of a download folder (names escaped,
// no inline script or style).
func (s *Server) listDir(w http.ResponseWriter, r *http.Request, name string) {
	d, err := s.root.Open(name)
	if err != nil {
		s.notFound(w, r)
		return
	}
	defer d.Close()
	ents, err := d.ReadDir(-1)
	if err != nil {
		s.notFound(w, r)
		return
	}
	var out []listEntry
	for _, e := range ents {
		n := e.Name()
		if strings.HasPrefix(n, ".") {
			continue
		}
		le := listEntry{Name: n, Href: escapeHref(n)}
		if e.IsDir() || e.Type()&fs.ModeSymlink != 0 {
			le.Name += "/"
			le.Href += "/"
		} else if info, err := e.Info(); err == nil {
			le.Size = info.Size()
		}
		out = append(out, le)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", cacheRevalidate)
	if r.Method == http.MethodHead {
		return
	}
	_ = listTemplate.Execute(w, map[string]any{"Path": r.URL.Path, "Parent": r.URL.Path != "/data/", "Entries": out})
}

// escapeHref escapes a file name for a relative link; ':' is escaped too so
// that "a:b" is not read as a scheme.
func escapeHref(name string) string {
	return strings.ReplaceAll(url.PathEscape(name), ":", "%3A")
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		apierror.Write(w, apierror.New(http.StatusNotFound, "not_found", "adresse inconnue de l’API : %s (voir /api/queries)", r.URL.Path))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Del("ETag")
	h.Del("Cache-Control")
	w.WriteHeader(http.StatusNotFound)
	_, _ = w.Write([]byte("404 — page introuvable\n"))
}
