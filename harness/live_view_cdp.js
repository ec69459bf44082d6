// Drives headless Chromium over the DevTools protocol (the `ws` package) for
// live_view_chromium_test.sh: opens the live report, watches its DOM while
// the run goes on, and prints what it saw as one JSON line; saves a
// screenshot of the final state.
//   node live_view_cdp.js DEVTOOLS_PORT REPORT_URL SCREENSHOT
'use strict';
const fs = require('fs');
const { connect } = require('./cdp');

const [devtoolsPort, reportUrl, screenshot] = process.argv.slice(2);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function main() {
  const base = `http://127.0.0.1:${devtoolsPort}`;
  // A tab of its own: the browser may serve other tests' pages at once.
  const page = await (await fetch(`${base}/json/new?about:blank`, { method: 'PUT' })).json();
  const cdp = await connect(page.webSocketDebuggerUrl);
  const { call } = cdp;
  await call('Emulation.setDeviceMetricsOverride',
    { width: 1100, height: 1400, deviceScaleFactor: 1, mobile: false });
  const look = async () => {
    const r = await call('Runtime.evaluate', {
      expression: `JSON.stringify({
        state: document.body.dataset.state || '',
        events: +(document.body.dataset.events || 0),
        arrows: document.querySelectorAll('svg.arrow').length,
        plots: document.querySelectorAll('svg.plot').length,
        finished: document.querySelectorAll(
          'section.scenario.pass, section.scenario.fail').length,
        status: (document.getElementById('live-status') || {}).textContent})`,
      returnByValue: true,
    });
    // Before the page has a body the expression throws: nothing seen yet.
    const value = r.result && r.result.value;
    return typeof value === 'string' ? JSON.parse(value) : {};
  };
  await call('Page.navigate', { url: reportUrl });
  const seen = { live_events: 0, live_arrows: 0, live_plots: 0, final: null };
  const deadline = Date.now() + 240000;
  while (Date.now() < deadline) {
    const now = await look();
    if (now.state === 'live') {
      seen.live_events = Math.max(seen.live_events, now.events);
      seen.live_arrows = Math.max(seen.live_arrows, now.arrows);
      seen.live_plots = Math.max(seen.live_plots, now.plots);
    }
    if (now.state === 'done') {
      seen.final = now;
      break;
    }
    await sleep(100);
  }
  const shot = await call('Page.captureScreenshot', { format: 'png' });
  fs.writeFileSync(screenshot, Buffer.from(shot.data, 'base64'));
  console.log(JSON.stringify(seen));
  cdp.close();
  await fetch(`${base}/json/close/${page.id}`);
}

main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
