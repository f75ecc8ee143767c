// Charts of the run: total RPS and failures/s, p50 and p95 response times,
// user count. Drawn with uPlot, created when the Charts tab is first shown.
import uPlot from '../vendor/uplot/uPlot.esm.js';

const MAX_POINTS = 10000;

export class Charts {
  constructor(rpsEl, rtEl, usersEl) {
    this.els = [rpsEl, rtEl, usersEl];
    this.t = []; this.rps = []; this.fail = []; this.p50 = []; this.p95 = []; this.users = [];
    this.plots = null;
    this.visible = false;
    window.addEventListener('resize', () => this.resize());
  }

  clear() {
    for (const a of [this.t, this.rps, this.fail, this.p50, this.p95, this.users]) a.length = 0;
    this.redraw();
  }

  // push adds one point; t in unix seconds.
  push(p, redraw = true) {
    const n = this.t.length;
    if (n > 0 && p.time <= this.t[n - 1]) return; // keep time increasing
    this.t.push(p.time);
    this.rps.push(p.rps);
    this.fail.push(p.fail_per_sec);
    this.p50.push(p.p50);
    this.p95.push(p.p95);
    this.users.push(p.user_count);
    if (this.t.length > MAX_POINTS) {
      for (const a of [this.t, this.rps, this.fail, this.p50, this.p95, this.users]) a.shift();
    }
    if (redraw) this.redraw();
  }

  width() {
    const w = this.els[0].clientWidth || this.els[0].parentElement.clientWidth || 800;
    return Math.max(300, w - 8);
  }

  create() {
    const w = this.width();
    const h = 260;
    const base = (title, series, yLabel) => ({
      title, width: w, height: h,
      scales: { x: { time: true } },
      series: [{}, ...series],
      axes: [{}, { label: yLabel, size: 60 }],
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
    });
    this.plots = [
      new uPlot(base('Total Requests per Second', [
        { label: 'RPS', stroke: '#00a35a', width: 2, value: (u, v) => v == null ? '-' : v.toFixed(2) },
        { label: 'Failures/s', stroke: '#e5484d', width: 2, value: (u, v) => v == null ? '-' : v.toFixed(2) },
      ], 'requests/s'), [this.t, this.rps, this.fail], this.els[0]),
      new uPlot(base('Response Times (ms)', [
        { label: '50th percentile', stroke: '#f0a020', width: 2, value: (u, v) => v == null ? '-' : v.toFixed(2) },
        { label: '95th percentile', stroke: '#7b5cd6', width: 2, value: (u, v) => v == null ? '-' : v.toFixed(2) },
      ], 'ms'), [this.t, this.p50, this.p95], this.els[1]),
      new uPlot(base('Number of Users', [
        { label: 'Users', stroke: '#2f7ed8', width: 2 },
      ], 'users'), [this.t, this.users], this.els[2]),
    ];
  }

  setVisible(v) {
    this.visible = v;
    if (!v) return;
    if (!this.plots) this.create();
    this.resize();
    this.redraw();
  }

  resize() {
    if (!this.plots || !this.visible) return;
    const w = this.width();
    for (const p of this.plots) p.setSize({ width: w, height: 260 });
  }

  redraw() {
    if (!this.plots || !this.visible) return;
    this.plots[0].setData([this.t, this.rps, this.fail]);
    this.plots[1].setData([this.t, this.p50, this.p95]);
    this.plots[2].setData([this.t, this.users]);
  }
}
