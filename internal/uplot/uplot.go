package uplot

import "embed"

// FS holds uPlot.esm.js, uPlot.min.css, LICENSE and VERSION at its root.
//
//go:embed uPlot.esm.js uPlot.min.css LICENSE VERSION
var FS embed.FS

// ESM is uPlot.esm.js, the ES module (its default export is uPlot).
//
//go:embed uPlot.esm.js
var ESM string

// CSS is uPlot.min.css.
//
//go:embed uPlot.min.css
var CSS string
