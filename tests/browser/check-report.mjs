// Opens a lagsim HTML report in headless Chromium and checks what a reader would see:
// the page loads with no console error and no request beyond the file itself, the comparison
// table and the expected words are there, and every chart is drawn (a visible SVG with shapes
// and text of real size). Prints one line per report; exits 1 if any check fails.
//
// Usage: node check-report.mjs REPORT.html[:WORD,WORD...] ...
// Chromium: $CHROMIUM, else /usr/bin/chromium (Debian's package).
import { chromium } from 'playwright-core';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const browser = await chromium.launch({
  executablePath,
  // Without these, Chromium reaches for Google's hosts, which a closed network refuses.
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--no-first-run'],
});
let failed = 0;
for (const arg of process.argv.slice(2)) {
  const [file, words = ''] = arg.split(':');
  const expected = words.split(',').filter(Boolean);
  const url = pathToFileURL(resolve(file)).href;
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('request', (r) => { if (r.url() !== url) problems.push(`request beyond the file: ${r.url()}`); });
  await page.goto(url, { waitUntil: 'load' });
  const seen = await page.evaluate(() => {
    const charts = [...document.querySelectorAll('figure svg')].map((svg) => {
      const box = svg.getBoundingClientRect();
      const texts = [...svg.querySelectorAll('text')];
      return {
        width: box.width,
        height: box.height,
        shapes: svg.querySelectorAll('path, rect, polyline, line, circle, polygon').length,
        texts: texts.length,
        // Text drawn with a real font has a real width.
        textWidth: texts.reduce((w, t) => w + t.getBBox().width, 0),
      };
    });
    return {
      title: document.title,
      text: document.body.innerText,
      rows: document.querySelectorAll('table.comparison tbody tr').length,
      scripts: document.querySelectorAll('script').length,
      charts,
    };
  });
  if (seen.rows < 3) problems.push(`comparison table has ${seen.rows} rows`);
  if (seen.scripts > 0) problems.push(`${seen.scripts} script elements`);
  if (seen.charts.length === 0) problems.push('no chart');
  seen.charts.forEach((c, i) => {
    if (c.width < 200 || c.height < 150) problems.push(`chart ${i + 1} is ${c.width}x${c.height}`);
    if (c.shapes < 5) problems.push(`chart ${i + 1} has ${c.shapes} shapes`);
    if (c.texts < 3 || c.textWidth < 50) problems.push(`chart ${i + 1} has ${c.texts} texts, ${c.textWidth}px wide`);
  });
  for (const w of expected) if (!seen.text.includes(w)) problems.push(`missing text: ${w}`);
  await page.close();
  if (problems.length) {
    failed += 1;
    console.log(`FAIL ${file}: ${problems.join('; ')}`);
  } else {
    console.log(`ok ${file}: "${seen.title}", ${seen.rows} table rows, ${seen.charts.length} charts drawn`);
  }
}
await browser.close();
process.exit(failed ? 1 : 0);
