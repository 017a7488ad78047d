/**
 * The live page, served as is: one HTML document, one script, one style sheet, no build step,
 * nothing from a CDN. The script renders `/api/state` snapshots pushed over `/api/events`
 * (server-sent events) and posts the fault buttons to `/api/faults/<name>`.
 */
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>netcoproc board</title>
<link rel="stylesheet" href="/app.css">
</head>
<body>
<header>
  <h1>netcoproc <span id="title-profile"></span></h1>
  <p id="conn" role="status" aria-live="polite">connecting…</p>
</header>
<main>
<section aria-labelledby="h-board">
  <h2 id="h-board">Board</h2>
  <dl id="board"></dl>
</section>
<section aria-labelledby="h-faults">
  <h2 id="h-faults">Faults</h2>
  <div class="buttons">
    <button type="button" data-fault="reboot">Reboot</button>
    <button type="button" data-fault="hang">Hang</button>
    <button type="button" data-fault="resume">Resume</button>
    <button type="button" data-fault="corrupt">Corrupt next bytes</button>
    <button type="button" data-fault="drop-host">Drop the host</button>
  </div>
  <p id="fault-result" role="status" aria-live="polite"></p>
</section>
<section aria-labelledby="h-sockets">
  <h2 id="h-sockets">Sockets</h2>
  <table id="sockets">
    <caption class="sr-only">Socket table of the board</caption>
    <thead><tr><th scope="col">id</th><th scope="col">kind</th><th scope="col">state</th><th scope="col">local</th>
    <th scope="col">remote</th><th scope="col">bytes in</th><th scope="col">bytes out</th><th scope="col">queued</th></tr></thead>
    <tbody></tbody>
  </table>
  <p id="no-sockets">No open sockets.</p>
</section>
<section aria-labelledby="h-forwards">
  <h2 id="h-forwards">Forwards</h2>
  <ul id="forwards"></ul>
</section>
<section aria-labelledby="h-serial" class="wide">
  <h2 id="h-serial">Serial line</h2>
  <ol id="exchanges" aria-label="Last serial exchanges, newest last"></ol>
</section>
</main>
<script src="/app.js"></script>
</body>
</html>
`;

export const PAGE_CSS = `:root { color-scheme: light dark; font-family: system-ui, sans-serif; }
body { margin: 0 auto; max-width: 72rem; padding: 1rem; }
header { display: flex; align-items: baseline; gap: 1rem; flex-wrap: wrap; }
h1 { font-size: 1.4rem; margin: 0; }
h2 { font-size: 1.1rem; margin: 1.2rem 0 0.4rem; }
main { display: grid; grid-template-columns: repeat(auto-fit, minmax(22rem, 1fr)); gap: 0 2rem; }
.wide, #h-sockets, section:has(#sockets) { grid-column: 1 / -1; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.2rem 1rem; margin: 0; }
dt { font-weight: 600; }
dd { margin: 0; font-family: ui-monospace, monospace; }
table { border-collapse: collapse; width: 100%; font-family: ui-monospace, monospace; font-size: 0.9rem; }
th, td { border-bottom: 1px solid #8884; padding: 0.2rem 0.5rem; text-align: left; }
td.num { text-align: right; }
.buttons { display: flex; flex-wrap: wrap; gap: 0.5rem; }
button { font: inherit; padding: 0.4rem 0.8rem; border-radius: 0.3rem; border: 1px solid #888; cursor: pointer; }
button:focus-visible { outline: 3px solid #36f; outline-offset: 2px; }
#exchanges { font-family: ui-monospace, monospace; font-size: 0.85rem; max-height: 24rem; overflow: auto;
  padding-left: 0; list-style: none; border: 1px solid #8884; margin: 0; }
#exchanges li { padding: 0.05rem 0.4rem; white-space: pre-wrap; word-break: break-all; }
#exchanges li.d2h { background: #4a90e214; }
.ok { color: #1a7f37; } .bad { color: #cf222e; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
`;

export const PAGE_JS = `'use strict';
const $ = (id) => document.getElementById(id);
const text = (tag, value, cls) => { const e = document.createElement(tag); e.textContent = String(value); if (cls) e.className = cls; return e; };
const seconds = (ms) => { const s = Math.floor(ms / 1000); return s < 60 ? s + ' s' : Math.floor(s / 60) + ' min ' + (s % 60) + ' s'; };
let bootedAt = 0;

function renderBoard(b) {
  bootedAt = b.bootedAt;
  $('title-profile').textContent = '— ' + b.profile + ' (' + b.protocol + ')';
  const rows = [
    ['protocol', b.protocol], ['profile', b.profile], ['firmware', b.firmware],
    ['boot nonce', b.bootNonce ?? '—'], ['uptime', seconds(Date.now() - b.bootedAt)],
    ['address', b.ip], ['host', b.attached ? 'attached (' + b.host + ')' : 'not attached'],
    ['baud', b.baud ?? 'unpaced'], ['transports', b.transports.join(', ') || '—'],
  ];
  const dl = $('board');
  dl.replaceChildren(...rows.flatMap(([k, v]) => {
    const dd = text('dd', v, k === 'host' ? (b.attached ? 'ok' : 'bad') : '');
    if (k === 'uptime') dd.id = 'uptime';
    return [text('dt', k), dd];
  }));
}

function renderSockets(list) {
  const body = $('sockets').tBodies[0];
  body.replaceChildren(...list.map((s) => {
    const tr = document.createElement('tr');
    tr.dataset.socket = String(s.id);
    for (const [v, num] of [[s.id, 1], [s.kind], [s.state], [s.local], [s.remote || '—'], [s.bytesIn, 1], [s.bytesOut, 1], [s.queued, 1]])
      tr.append(text('td', v, num ? 'num' : ''));
    return tr;
  }));
  $('no-sockets').hidden = list.length > 0;
}

function renderForwards(list) {
  $('forwards').replaceChildren(...(list.length ? list.map((f) =>
    text('li', 'tcp ' + f.ip + ':' + f.port + ' → 127.0.0.1:' + f.forwardPort)) : [text('li', 'none')]));
}

function renderExchanges(list) {
  const ol = $('exchanges');
  const atEnd = ol.scrollTop + ol.clientHeight >= ol.scrollHeight - 4;
  ol.replaceChildren(...list.map((e) => text('li', (e.dir === 'hostToDevice' ? 'host→dev  ' : 'dev→host  ') + e.text,
    e.dir === 'hostToDevice' ? 'h2d' : 'd2h')));
  if (atEnd) ol.scrollTop = ol.scrollHeight;
}

function render(state) {
  renderBoard(state.board);
  renderSockets(state.sockets);
  renderForwards(state.forwards);
  renderExchanges(state.exchanges);
}

function connect() {
  const events = new EventSource('/api/events');
  events.addEventListener('state', (m) => { render(JSON.parse(m.data)); $('conn').textContent = 'live'; });
  events.onerror = () => { $('conn').textContent = 'disconnected, retrying…'; };
}

for (const button of document.querySelectorAll('button[data-fault]')) {
  button.addEventListener('click', async () => {
    const name = button.dataset.fault;
    const res = await fetch('/api/faults/' + name, { method: 'POST' });
    const body = await res.json().catch(() => ({}));
    $('fault-result').textContent = res.ok ? name + ': done' : name + ': ' + (body.error || res.status);
  });
}
setInterval(() => { const u = $('uptime'); if (u && bootedAt) u.textContent = seconds(Date.now() - bootedAt); }, 1000);
fetch('/api/state').then((r) => r.json()).then(render).catch(() => {});
connect();
`;
