// A small hand-written SVG line chart: smtpwire messages/s against pipeline window, one line per
// reply delay. Window on a log2 axis (evenly spaced powers of two), messages/s on a log10 axis
// (so the 1 ms line, which spans two decades, stays readable next to the 0 ms one).

const W = 760;
const H = 440;
const M = { top: 56, right: 150, bottom: 58, left: 78 };
const COLORS = ['#1f6feb', '#d9480f', '#2f9e44', '#9c36b5'];

const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);

function niceNumber(x) {
  if (x >= 1e6) return `${+(x / 1e6).toFixed(1)}M`;
  if (x >= 1e3) return `${+(x / 1e3).toFixed(1)}k`;
  return String(Math.round(x));
}

/**
 * @param {{delay:number, window:number, msgsPerS:number, turnsPerMsg:number, ok:boolean}[]} points
 * @param {{node?:string, cores?:number}} machine
 */
export function renderWindowChart(points, machine = {}) {
  const good = points.filter((p) => p.ok && Number.isFinite(p.msgsPerS) && p.msgsPerS > 0);
  const windows = [...new Set(points.map((p) => p.window))].sort((a, b) => a - b);
  const delays = [...new Set(points.map((p) => p.delay))].sort((a, b) => a - b);
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;

  const lo = Math.min(...good.map((p) => p.msgsPerS));
  const hi = Math.max(...good.map((p) => p.msgsPerS));
  const yMin = Math.pow(10, Math.floor(Math.log10(lo)));
  const yMax = Math.pow(10, Math.ceil(Math.log10(hi * 1.05)));
  const pad = 28; // keep the first and last points (and their labels) off the frame
  const x = (w) => M.left + (windows.length === 1 ? pw / 2 : pad + (windows.indexOf(w) / (windows.length - 1)) * (pw - 2 * pad));
  const y = (v) => M.top + ph - ((Math.log10(v) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * ph;

  const out = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif" font-size="12">`,
  );
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="${M.left}" y="24" font-size="16" font-weight="600" fill="#111">smtpwire: messages/s against pipeline window</text>`);
  out.push(
    `<text x="${M.left}" y="42" fill="#555">2,000 x 1 KiB over loopback to bench/sink.mjs, one connection, CHUNKING + PIPELINING${machine.cores ? `; ${machine.cores} cores, node ${esc(machine.node ?? '')}` : ''}</text>`,
  );

  // Y grid: 1, 2, 5 per decade.
  for (let d = yMin; d <= yMax; d *= 10) {
    for (const m of [1, 2, 5]) {
      const v = d * m;
      if (v < yMin || v > yMax) continue;
      const yy = y(v).toFixed(1);
      const major = m === 1;
      out.push(
        `<line x1="${M.left}" x2="${M.left + pw}" y1="${yy}" y2="${yy}" stroke="${major ? '#d0d7de' : '#eef1f4'}" stroke-width="1"/>`,
      );
      out.push(
        `<text x="${M.left - 8}" y="${yy}" text-anchor="end" dominant-baseline="middle" fill="${major ? '#333' : '#888'}">${niceNumber(v)}</text>`,
      );
    }
  }
  // X axis ticks.
  for (const w of windows) {
    const xx = x(w).toFixed(1);
    out.push(`<line x1="${xx}" x2="${xx}" y1="${M.top}" y2="${M.top + ph}" stroke="#eef1f4" stroke-width="1"/>`);
    out.push(`<text x="${xx}" y="${M.top + ph + 18}" text-anchor="middle" fill="#333">${w}</text>`);
  }
  out.push(`<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#8c959f" stroke-width="1"/>`);
  out.push(
    `<text x="${M.left + pw / 2}" y="${H - 14}" text-anchor="middle" fill="#111">pipelineWindow (transactions in flight; log scale)</text>`,
  );
  out.push(`<text transform="translate(20 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle" fill="#111">messages/s (log scale)</text>`);

  delays.forEach((delay, i) => {
    const color = COLORS[i % COLORS.length];
    const series = good.filter((p) => p.delay === delay).sort((a, b) => a.window - b.window);
    if (series.length === 0) return;
    const path = series.map((p, k) => `${k === 0 ? 'M' : 'L'}${x(p.window).toFixed(1)},${y(p.msgsPerS).toFixed(1)}`).join(' ');
    out.push(`<path d="${path}" fill="none" stroke="${color}" stroke-width="2.5" stroke-linejoin="round"/>`);
    for (const p of series) {
      const cx = x(p.window).toFixed(1);
      const cy = y(p.msgsPerS).toFixed(1);
      out.push(
        `<circle cx="${cx}" cy="${cy}" r="4" fill="${color}"><title>window ${p.window}, ${delay} ms delay: ${Math.round(p.msgsPerS)} msg/s, ${p.turnsPerMsg.toFixed(3)} turns/msg</title></circle>`,
      );
      out.push(
        `<text x="${cx}" y="${(Number(cy) + (i === 0 ? -10 : 18)).toFixed(1)}" text-anchor="middle" font-size="10" fill="${color}">${niceNumber(p.msgsPerS)}</text>`,
      );
    }
    const ly = M.top + 14 + i * 22;
    const lx = M.left + pw + 16;
    out.push(`<line x1="${lx}" x2="${lx + 22}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2.5"/>`);
    out.push(`<circle cx="${lx + 11}" cy="${ly}" r="4" fill="${color}"/>`);
    out.push(`<text x="${lx + 30}" y="${ly}" dominant-baseline="middle" fill="#111">${delay} ms reply delay</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
