// Package dashboards renders capstat's public dashboards: a static,
// accessible (RGAA), offline HTML site in French, generated from the current
// published release (DIR/latest) and never from the working database.
//
// The site needs no other host: ECharts is embedded in the binary and written
// to assets/, chart options live in generated .js data files initialised by
// one static site.js, so pages run under a strict Content-Security-Policy
// (no inline script or style). Every chart has a title, a one-sentence
// summary computed from the data, a data table, a CSV export and an
// embeddable page. Collectivities and projects also get an Atom feed.
package dashboards
