// The sandbox EHR page: builds a hook call like an EHR, sends it to the CDS service, renders the
// cards as an EHR shows them (markdown with raw HTML enabled, as the official CDS Hooks Sandbox
// does, so escaping is tested for real), charts the explanation and sends feedback.
/* global markdownit */
const md = markdownit({ html: true, linkify: true });
const $ = (id) => document.getElementById(id);
let config;
let lastCall;

function text(tag, content, attrs = {}) {
  const el = document.createElement(tag);
  el.textContent = content;
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  return el;
}

function status(msg) {
  $('status').textContent = msg;
}

async function json(url, init) {
  const res = await fetch(url, init);
  const body = await res.text();
  return { status: res.status, body: body ? JSON.parse(body) : undefined, text: body };
}

function chart(prediction) {
  const rows = [...prediction.contributions].sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution));
  const max = Math.max(1e-9, ...rows.map((r) => Math.abs(r.contribution)));
  const labels = Object.fromEntries(prediction.inputs.map((i) => [i.feature, i.label]));
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  const h = 18;
  svg.setAttribute('width', '520');
  svg.setAttribute('height', String(rows.length * h + 10));
  svg.setAttribute('class', 'chart');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', 'Contribution of each input in percentage points');
  rows.forEach((r, i) => {
    const y = i * h + 4;
    const w = (Math.abs(r.contribution) / max) * 180;
    const label = document.createElementNS(ns, 'text');
    label.setAttribute('x', '0');
    label.setAttribute('y', String(y + 12));
    label.textContent = labels[r.feature] || r.feature;
    const bar = document.createElementNS(ns, 'rect');
    bar.setAttribute('x', r.contribution >= 0 ? '300' : String(300 - w));
    bar.setAttribute('y', String(y + 2));
    bar.setAttribute('width', String(w));
    bar.setAttribute('height', '12');
    bar.setAttribute('fill', r.contribution >= 0 ? '#c0392b' : '#27ae60');
    const value = document.createElementNS(ns, 'text');
    value.setAttribute('x', '490');
    value.setAttribute('y', String(y + 12));
    value.setAttribute('text-anchor', 'end');
    value.textContent = `${r.contribution >= 0 ? '+' : ''}${(r.contribution * 100).toFixed(1)} pp`;
    svg.append(label, bar, value);
  });
  return svg;
}

async function sendFeedback(card, item) {
  const path = `/cds-services/${encodeURIComponent(lastCall.serviceId)}/feedback`;
  const tok = await json('/api/token', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ path }) });
  const res = await json(`${config.serviceUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: tok.body.authorization },
    body: JSON.stringify({ feedback: [{ card: card.uuid, outcomeTimestamp: new Date().toISOString(), ...item }] }),
  });
  status(res.status === 200 ? `Feedback stored: ${item.outcome}.` : `Feedback failed: HTTP ${res.status}.`);
}

function renderCard(card) {
  const el = document.createElement('section');
  el.className = `card ${card.indicator}`;
  el.setAttribute('data-card-uuid', card.uuid);
  el.append(text('div', card.summary, { class: 'summary' }));
  el.append(text('div', `${card.indicator.toUpperCase()} · ${card.source.label}`, { class: 'source' }));
  if (card.detail) {
    const detail = document.createElement('div');
    detail.className = 'detail';
    // Rendered as many EHRs do: markdown with raw HTML allowed. The service must escape its data.
    detail.innerHTML = md.render(card.detail);
    el.append(detail);
  }
  const prediction = card.extension && card.extension['riskcards.prediction'];
  if (prediction) el.append(chart(prediction));
  if (card.links) {
    const ul = document.createElement('ul');
    for (const l of card.links) {
      const li = document.createElement('li');
      const a = text('a', l.label, { href: l.url, target: '_blank', rel: 'noopener noreferrer' });
      li.append(a);
      ul.append(li);
    }
    el.append(ul);
  }
  const actions = document.createElement('div');
  actions.className = 'actions';
  for (const s of card.suggestions || []) {
    const b = text('button', s.label, { 'data-suggestion': s.uuid || '' });
    b.addEventListener('click', () => sendFeedback(card, { outcome: 'accepted', acceptedSuggestions: [{ id: s.uuid }] }));
    actions.append(b);
  }
  const accept = text('button', 'Accept', { class: 'accept' });
  accept.addEventListener('click', () => sendFeedback(card, { outcome: 'accepted' }));
  actions.append(accept);
  if (card.overrideReasons) {
    const select = document.createElement('select');
    select.className = 'override-reason';
    select.style.width = 'auto';
    for (const r of card.overrideReasons) select.append(text('option', r.display, { value: r.code }));
    const override = text('button', 'Override', { class: 'override' });
    override.addEventListener('click', () => {
      const r = card.overrideReasons.find((x) => x.code === select.value);
      sendFeedback(card, { outcome: 'overridden', overrideReason: { reason: r } });
    });
    actions.append(select, override);
  }
  el.append(actions);
  return el;
}

async function fire() {
  const serviceId = $('service').value;
  const patientId = $('patient').value;
  status('Preparing the request…');
  const prep = await json('/api/prepare', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ serviceId, patientId, withPrefetch: $('prefetch').checked }),
  });
  if (prep.status !== 200) return status(`Could not prepare the request (HTTP ${prep.status}).`);
  const shown = { method: 'POST', url: prep.body.url, headers: { Authorization: `${prep.body.authorization.slice(0, 24)}… (signed ES384 JWT)`, 'Content-Type': 'application/json' }, body: prep.body.body };
  $('request').textContent = JSON.stringify(shown, null, 2);
  status('Calling the CDS service…');
  const t0 = performance.now();
  const res = await json(prep.body.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: prep.body.authorization }, body: JSON.stringify(prep.body.body) });
  const ms = Math.round(performance.now() - t0);
  $('response').textContent = `HTTP ${res.status} in ${ms} ms\n\n${res.body ? JSON.stringify(res.body, null, 2) : res.text}`;
  lastCall = { serviceId };
  const cards = $('cards');
  cards.replaceChildren();
  if (res.status !== 200) {
    cards.append(text('p', `The service answered HTTP ${res.status}. See the raw response.`));
  } else if (!res.body.cards.length) {
    cards.append(text('p', 'No cards for this patient.'));
  } else {
    for (const c of res.body.cards) cards.append(renderCard(c));
  }
  status(`HTTP ${res.status} in ${ms} ms.`);
}

async function init() {
  config = (await json('/api/config')).body;
  $('service-url').textContent = config.serviceUrl;
  $('fhir-url').textContent = config.fhirUrl;
  for (const s of config.services) $('service').append(text('option', `${s.title} (${s.hook})`, { value: s.id }));
  const { patients } = (await json('/api/patients')).body;
  patients.sort((a, b) => a.name.localeCompare(b.name));
  for (const p of patients) $('patient').append(text('option', `${p.name} · ${p.gender}, born ${p.birthDate}`, { value: p.id }));
  $('fire').addEventListener('click', () => fire().catch((e) => status(`Error: ${e.message}`)));
  document.body.setAttribute('data-ready', 'true');
}

init().catch((e) => status(`Could not load the sandbox: ${e.message}`));
