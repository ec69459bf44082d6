// A minimal DevTools protocol client over the `ws` package, shared by the
// Chromium tests' page drivers (chromium_page.js, live_view_cdp.js).
//   const { connect } = require('./cdp');
//   const cdp = await connect(webSocketDebuggerUrl);
//   await cdp.call('Page.enable');           // the result, or throws its error
//   const loaded = cdp.event('Page.loadEventFired');
'use strict';
const WebSocket = require('ws');

async function connect(webSocketUrl) {
  const socket = new WebSocket(webSocketUrl);
  await new Promise((resolve, reject) => { socket.on('open', resolve); socket.on('error', reject); });
  let next = 0;
  const pending = new Map();  // id -> { resolve, reject, method }
  const waiters = new Map();  // event name -> resolve
  socket.on('message', (data) => {
    const m = JSON.parse(data);
    if (m.id !== undefined && pending.has(m.id)) {
      const { resolve, reject, method } = pending.get(m.id);
      pending.delete(m.id);
      if (m.error) reject(new Error(`${method}: ${m.error.message}`));
      else resolve(m.result);
    } else if (m.method && waiters.has(m.method)) {
      waiters.get(m.method)(m.params);
      waiters.delete(m.method);
    }
  });
  return {
    call: (method, params = {}) => new Promise((resolve, reject) => {
      const id = ++next;
      pending.set(id, { resolve, reject, method });
      socket.send(JSON.stringify({ id, method, params }));
    }),
    event: (name) => new Promise((resolve) => waiters.set(name, resolve)),
    close: () => socket.close(),
  };
}

module.exports = { connect };
