// Package uplot holds the one vendored copy of uPlot, the chart library of
// the web UI and the HTML report: uPlot.esm.js, uPlot.min.css and uPlot's
// LICENSE, copied unmodified from the npm tarball (VERSION says which), and
// embedded once for both.
//
// The web UI serves FS under /assets/vendor/uplot/ and imports the module
// from there; the report inlines ESM (turned into a classic script) and
// CSS, since a report opened from a file cannot import modules.
package uplot
