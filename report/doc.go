// Package report writes the HTML report of a run (--html FILE, and
// GET /stats/report in the web UI): one self-contained file that opens
// without a network, with Locust's sections.
//
//   - the time span, target host, script, users and user classes;
//   - Request Statistics (Type, Name, # Requests, # Fails, Average, Min, Max,
//     Average size, RPS, Failures/s; RPS is over the whole run);
//   - Response Time Statistics at 50, 60, 70, 80, 90, 95, 99 and 100 %;
//   - Failures and Exceptions;
//   - charts of requests and failures per second, response-time percentiles
//     (50th, 95th) and users over time, drawn with uPlot;
//   - the final ratio of classes and tasks;
//   - the thresholds with their measured values and verdicts.
//
// The styles, uPlot (MIT, the one vendored copy in internal/uplot, with
// its licence) and the data are inline. The tables are rendered by
// html/template, so every name, message and traceback is escaped; the same numbers are embedded as JSON
// in a <script type="application/json"> block (with <, > and & escaped, so
// no name can close the block) from which the charts are drawn. The page
// carries a Content-Security-Policy that allows exactly its own inline
// script and style by their SHA-256 hashes and nothing else: no network,
// no eval, no other scripts. A server that sends the report must send
// ContentSecurityPolicy as its header too, or a stricter header CSP will
// block the inline script and the charts.
package report
