// Draws the report's charts from the JSON data block. Names never reach
// the DOM from here: the charts only carry numbers and fixed labels.
(function () {
	"use strict";
	var el = document.getElementById("report-data");
	if (!el) { return; }
	var data = JSON.parse(el.textContent);
	var h = data.history || {};
	var t = h.time || [];

	function ms(v) { return v == null ? "" : (Math.round(v * 100) / 100) + " ms"; }
	function num(v) { return v == null ? "" : String(Math.round(v * 100) / 100); }

	// axis and grid colours follow the page's (light or dark) theme
	var css = getComputedStyle(document.body);
	var fg = css.color || "#1d2430";
	var grid = (css.getPropertyValue("--line") || "").trim() || "#d8dde6";
	var axis = function (extra) {
		var a = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
		for (var k in extra) { a[k] = extra[k]; }
		return a;
	};

	// The time axis steps in whole seconds at least, with room for a
	// full hh:mm:ss label: on a run of a few seconds the default sub-second
	// ticks would print overlapping labels.
	function pad(n) { return n < 10 ? "0" + n : String(n); }
	function clock(v) { var d = new Date(v * 1000); return pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds()); }
	var timeAxis = {
		space: 90,
		incrs: [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400],
		values: function (u, vals) { return vals.map(clock); },
	};

	var charts = [];
	function chart(id, series, ys, fmt) {
		var box = document.getElementById(id);
		if (!box) { return; }
		var target = box.querySelector(".plot");
		if (t.length === 0) {
			return;
		}
		var opts = {
			width: Math.max(300, target.clientWidth || 800),
			height: 260,
			scales: { x: { time: true } },
			series: [{}].concat(series.map(function (s) {
				return { label: s.label, stroke: s.color, width: 2, value: function (u, v) { return fmt(v); } };
			})),
			axes: [axis(timeAxis), axis({ values: function (u, vals) { return vals.map(function (v) { return num(v); }); }, size: 60 })],
		};
		charts.push({ plot: new uPlot(opts, [t].concat(ys), target), target: target });
	}

	chart("chart-rps", [
		{ label: "RPS", color: "#2e7d32" },
		{ label: "Failures/s", color: "#c62828" },
	], [h.rps || [], h.fail_per_sec || []], num);
	chart("chart-response", [
		{ label: "50th percentile", color: "#1565c0" },
		{ label: "95th percentile", color: "#ef6c00" },
	], [h.p50 || [], h.p95 || []], ms);
	chart("chart-users", [
		{ label: "Users", color: "#6a1b9a" },
	], [h.users || []], num);

	window.addEventListener("resize", function () {
		charts.forEach(function (c) {
			c.plot.setSize({ width: Math.max(300, c.target.clientWidth || 800), height: 260 });
		});
	});
	document.body.setAttribute("data-charts", String(charts.length));
})();
