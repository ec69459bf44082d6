// Loads one page in a running headless Chromium over the DevTools protocol
// (the `ws` package) and writes what `chromium --dump-dom` and `--screenshot`
// would: the DOM after the load event and, optionally, a PNG of the viewport.
// One browser then serves every page of a test (headless_chromium.sh): each
// browser start costs seconds of CPU, a page load a fraction of one.
//   node chromium_page.js DEVTOOLS_PORT URL DOM_OUT [PNG_OUT WIDTH HEIGHT]
'use strict';
const fs = require('fs');
const { connect } = require('./cdp');

const [devtoolsPort, url, domOut, pngOut, width, height] = process.argv.slice(2);

async function main() {
  const base = `http://127.0.0.1:${devtoolsPort}`;
  // A tab of its own, so that pages loaded one after another never share state.
  const target = await (await fetch(`${base}/json/new?about:blank`, { method: 'PUT' })).json();
  const cdp = await connect(target.webSocketDebuggerUrl);
  const { call, event } = cdp;

  await call('Page.enable');
  if (pngOut) {
    // What --window-size sets for --screenshot: the viewport.
    await call('Emulation.setDeviceMetricsOverride',
      { width: +width, height: +height, deviceScaleFactor: 1, mobile: false });
  }
  const loaded = event('Page.loadEventFired');
  const navigation = await call('Page.navigate', { url });
  if (navigation.errorText) throw new Error(`${url}: ${navigation.errorText}`);
  await loaded;
  const dom = await call('Runtime.evaluate',
    { expression: 'document.documentElement.outerHTML', returnByValue: true });
  fs.writeFileSync(domOut, dom.result.value + '\n');
  if (pngOut) {
    const shot = await call('Page.captureScreenshot', { format: 'png' });
    fs.writeFileSync(pngOut, Buffer.from(shot.data, 'base64'));
  }
  cdp.close();
  await fetch(`${base}/json/close/${target.id}`);
}

main().then(() => process.exit(0), (e) => { console.error(`chromium_page.js: ${e.message}`); process.exit(1); });
