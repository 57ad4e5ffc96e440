// cloudpc-emulator dashboard. Plain JavaScript, no dependencies, embedded in the binary. It speaks only the public
// Graph routes (with a token minted per tenant by /_emulator/token) and the /_emulator JSON APIs. Every value from
// the server is put into the page as text, never as markup.
'use strict';

const COLLECTION = 'deviceManagement/virtualEndpoint/deviceImages';
const PAGE = 50;
const LIVE_MS = 2000;

const $ = (selector, root = document) => root.querySelector(selector);
const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));

/** Builds an element: h('td', {className: 'x'}, 'text', child). */
function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key in el) el[key] = value;
    else el.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** A failed call, with Graph's error code and message. */
class Failure extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** One HTTP call: the parsed JSON (or null), or a Failure carrying the envelope's message. */
async function call(method, url, { body, headers = {}, token } = {}) {
  const init = { method, headers: { Accept: 'application/json', ...headers }, credentials: 'same-origin' };
  if (token) init.headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(url, init);
  } catch (e) {
    throw new Failure(0, 'network', 'The emulator does not answer. Is it still running?');
  }
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }
  if (res.ok) return json;
  if (res.status === 401 && url.startsWith('/_emulator')) {
    // The admin token is missing or changed: the page itself asks for it.
    window.location.reload();
  }
  const error = json && json.error ? json.error : {};
  throw new Failure(res.status, error.code || String(res.status), error.message || `HTTP ${res.status}`);
}

const control = (method, path, body) => call(method, `/_emulator${path}`, { body });

// ---------------------------------------------------------------------------------------------- status messages

let statusTimer = null;
function say(message, isError = false) {
  const box = $('#status');
  box.textContent = message;
  box.classList.toggle('error', isError);
  clearTimeout(statusTimer);
  if (!isError) statusTimer = setTimeout(() => { box.textContent = ''; }, 5000);
}

/** What put the error on the page, so that its own next success takes it away. */
let errorFrom = null;

function clearError() {
  if ($('#status').classList.contains('error')) say('');
  errorFrom = null;
}

/**
 * Wraps an async event handler: a failure becomes a message on the page, never an unhandled rejection. A user's
 * action that succeeds clears any error; a background refresh that succeeds clears only the error it caused.
 */
function guard(fn, { background = false } = {}) {
  return async (...args) => {
    try {
      await fn(...args);
      if (!background || errorFrom === fn) clearError();
    } catch (e) {
      say(e instanceof Failure ? `${e.code}: ${e.message}` : String(e), true);
      errorFrom = fn;
    }
  };
}

function confirmAction(text, okLabel = 'Confirm') {
  const dialog = $('#confirm-dialog');
  $('#confirm-text').textContent = text;
  $('#confirm-ok').textContent = okLabel;
  dialog.returnValue = '';
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
  });
}

function pretty(text) {
  if (text === null || text === undefined || text === '') return '(none)';
  try { return JSON.stringify(JSON.parse(text), null, 2); } catch (e) { return text; }
}

function badge(value, kind = value) {
  return h('span', { className: `badge ${kind || ''}` }, value || '—');
}

function formatTime(iso) {
  if (!iso) return '—';
  return iso.replace('T', ' ').replace(/(\.\d+)?Z$/, ' UTC');
}

// ---------------------------------------------------------------------------------------------- tabs

const views = ['images', 'policies', 'catalog', 'requests', 'faults', 'clock', 'maintenance'];
let currentView = 'images';

function showView(name, focus = false) {
  if (!views.includes(name)) name = 'images';
  currentView = name;
  for (const view of views) {
    const tab = $(`#tab-${view}`);
    const selected = view === name;
    tab.setAttribute('aria-selected', String(selected));
    tab.tabIndex = selected ? 0 : -1;
    $(`#view-${view}`).hidden = !selected;
  }
  if (focus) $(`#tab-${name}`).focus();
  clearError();
  if (window.location.hash !== `#${name}`) history.replaceState(null, '', `#${name}`);
  refreshView(name);
}

function setUpTabs() {
  for (const view of views) {
    const tab = $(`#tab-${view}`);
    tab.addEventListener('click', () => showView(view));
    tab.addEventListener('keydown', (event) => {
      const at = views.indexOf(view);
      const to = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: views.length - 1 }[event.key];
      if (to === undefined) return;
      event.preventDefault();
      showView(views[(to + views.length) % views.length], true);
    });
  }
  window.addEventListener('hashchange', () => showView(window.location.hash.slice(1)));
}

async function loadImagesAndTenants() {
  await loadTenants();
  await loadImages();
}

function refreshView(name) {
  const refresh = { images: loadImagesAndTenants, policies: loadPoliciesAndTenants, catalog: loadCatalog, requests: loadRequests, faults: loadFaults, clock: loadClock }[name];
  if (refresh) guard(refresh)();
}

// ---------------------------------------------------------------------------------------------- tenants and tokens

const tokens = new Map();

/** A Graph token for the tenant, minted by the emulator and reused until a minute before it expires. */
async function tokenFor(tenantId) {
  const cached = tokens.get(tenantId);
  if (cached && cached.expires - Date.now() > 60_000) return cached.token;
  const minted = await control('POST', '/token', { tenantId, lifetimeSeconds: 3600 });
  tokens.set(tenantId, { token: minted.accessToken, expires: Date.parse(minted.expiresOn) || Date.now() + 3_000_000 });
  return minted.accessToken;
}

/** A Graph call as the selected tenant. The journal leaves the dashboard's own calls out (X-Emulator-Client). */
function graph(method, url, options = {}) {
  const headers = { 'X-Emulator-Client': 'dashboard', ...(options.headers || {}) };
  return tokenFor(images.tenant).then((token) => call(method, url, { ...options, headers, token }));
}

async function loadTenants() {
  const { value } = await control('GET', '/tenants');
  const chosen = images.tenant || value[0].tenantId;
  for (const select of [$('#images-tenant'), $('#policies-tenant')]) {
    select.replaceChildren(...value.map((t) => h('option', { value: t.tenantId }, t.tenantId)));
    if (!value.some((t) => t.tenantId === chosen)) select.append(h('option', { value: chosen }, chosen));
    select.value = chosen;
  }
  images.tenant = chosen;
}

// ---------------------------------------------------------------------------------------------- images

const images = { tenant: null, filter: '', pages: [], selected: null, busy: false, again: false };

function firstPageUrl() {
  let url = `/beta/${COLLECTION}?$top=${PAGE}&$count=true`;
  if (images.filter) url += `&$filter=${encodeURIComponent(images.filter)}`;
  return url;
}

/** Loads the current page again (live refresh), or the first page when there is none. */
async function loadImages() {
  if (images.busy) {
    // A load is under way with what may be an outdated page or filter: it runs once more when it ends.
    images.again = true;
    return;
  }
  images.busy = true;
  images.again = false;
  try {
    if (!images.tenant) await loadTenants();
    if (images.pages.length === 0) images.pages.push({ url: firstPageUrl(), offset: 0 });
    const page = images.pages[images.pages.length - 1];
    const data = await graph('GET', page.url, { headers: { Prefer: 'include-unknown-enum-members' } });
    page.next = data['@odata.nextLink'] || null;
    page.count = data['@odata.count'];
    page.length = data.value.length;
    renderImages(data.value, page);
    if (images.selected) await loadDetail(images.selected, false);
  } finally {
    images.busy = false;
    if (images.again) setTimeout(guard(loadImages), 0);
  }
}

function renderImages(items, page) {
  const rows = items.map((image) => {
    const row = h('tr', {
      className: `selectable${image.id === images.selected ? ' selected' : ''}`,
      tabIndex: 0,
      'data-id': image.id,
      onclick: guard(() => loadDetail(image.id, true)),
      onkeydown: (event) => {
        if (event.key === 'Enter' || event.key === ' ') {
          event.preventDefault();
          guard(() => loadDetail(image.id, true))();
        }
      },
    },
    h('td', { title: image.displayName }, image.displayName),
    h('td', { title: image.version }, image.version),
    h('td', {}, badge(image.status)),
    h('td', { className: 'optional', title: image.errorCode || '' }, image.errorCode || '—'),
    h('td', { className: 'optional', title: image.operatingSystem || '' }, image.operatingSystem || '—'),
    h('td', { className: 'optional' }, image.sizeInGB === null ? '—' : `${image.sizeInGB} GB`),
    h('td', { title: image.lastModifiedDateTime }, formatTime(image.lastModifiedDateTime)));
    return row;
  });
  $('#images-table tbody').replaceChildren(...rows);
  $('#images-empty').hidden = items.length > 0;
  const count = page.count === undefined ? '' : ` of ${page.count.toLocaleString('en')}`;
  $('#images-range').textContent = items.length
    ? `Images ${page.offset + 1}–${page.offset + items.length}${count}`
    : `No images${count ? ' on this page' + count : ''}`;
  $('#images-prev').disabled = images.pages.length < 2;
  $('#images-next').disabled = !page.next;
}

async function loadDetail(id, focus) {
  const url = `${COLLECTION}/${id}`;
  let beta;
  let v1;
  try {
    [beta, v1] = await Promise.all([graph('GET', `/beta/${url}`), graph('GET', `/v1.0/${url}`)]);
  } catch (e) {
    if (e instanceof Failure && e.status === 404) {
      closeDetail();
      return;
    }
    throw e;
  }
  images.selected = id;
  $$('#images-table tbody tr').forEach((tr) => tr.classList.toggle('selected', tr.dataset.id === id));
  $('#detail-title').textContent = `${beta.displayName} ${beta.version}`;
  $('#detail-beta').textContent = JSON.stringify(beta, null, 2);
  $('#detail-v1').textContent = JSON.stringify(v1, null, 2);
  $('#detail-retry').hidden = beta.status !== 'failed';
  $('#image-detail').hidden = false;
  $('#images-split').classList.add('detail-open');
  if (focus) $('#detail-close').focus();
}

function closeDetail() {
  const id = images.selected;
  images.selected = null;
  $('#image-detail').hidden = true;
  $('#images-split').classList.remove('detail-open');
  $$('#images-table tbody tr').forEach((tr) => tr.classList.remove('selected'));
  const row = id && $(`#images-table tbody tr[data-id="${id}"]`);
  if (row) row.focus();
}

function setUpImages() {
  $('#images-query').addEventListener('submit', guard(async (event) => {
    event.preventDefault();
    images.filter = $('#images-filter').value.trim();
    images.pages = [];
    await loadImages();
  }));
  $('#images-tenant').addEventListener('change', guard(async (event) => {
    images.tenant = event.target.value;
    images.pages = [];
    closeDetail();
    await loadImages();
  }));
  $('#images-next').addEventListener('click', guard(async () => {
    const page = images.pages[images.pages.length - 1];
    if (!page || !page.next) return;
    images.pages.push({ url: page.next, offset: page.offset + page.length });
    await loadImages();
  }));
  $('#images-prev').addEventListener('click', guard(async () => {
    if (images.pages.length > 1) images.pages.pop();
    await loadImages();
  }));
  $('#detail-close').addEventListener('click', closeDetail);
  $('#image-detail').addEventListener('keydown', (event) => { if (event.key === 'Escape') closeDetail(); });
  $('#detail-delete').addEventListener('click', guard(async () => {
    const id = images.selected;
    if (!id || !(await confirmAction(`Delete image ${$('#detail-title').textContent}? This cannot be undone.`, 'Delete'))) return;
    await graph('DELETE', `/beta/${COLLECTION}/${id}`);
    closeDetail();
    say('Image deleted.');
    await loadImages();
  }));
  $('#detail-retry').addEventListener('click', guard(async () => {
    await graph('POST', `/beta/${COLLECTION}/${images.selected}/retryUpload`);
    say('Upload started again: the image is pending.');
    await loadImages();
  }));
}

// ---------------------------------------------------------------------------------------------- policies

const POLICIES = 'deviceManagement/virtualEndpoint/provisioningPolicies';
const GALLERY = 'deviceManagement/virtualEndpoint/galleryImages';

async function loadPoliciesAndTenants() {
  await loadTenants();
  await loadPolicies();
}

async function loadPolicies() {
  const data = await graph('GET', `/beta/${POLICIES}?$expand=assignments&$orderby=displayName`, { headers: { Prefer: 'include-unknown-enum-members' } });
  const rows = data.value.map((policy) => {
    const groups = (policy.assignments || []).map((a) => a.target.groupId);
    return h('tr', { 'data-id': policy.id },
      h('td', { className: 'wrap' }, policy.displayName),
      h('td', { className: 'wrap' }, badge(policy.imageType), ' ', policy.imageDisplayName),
      h('td', { className: 'wrap mono' }, policy.imageId),
      h('td', { className: 'wrap mono' }, groups.length ? groups.join(', ') : '—'),
      h('td', {}, policy.provisioningType),
      h('td', { className: 'wrap' }, formatTime(policy.lastModifiedDateTime)),
      h('td', { className: 'actions-cell' },
        groups.length ? h('button', { type: 'button', onclick: guard(() => unassign(policy)), 'aria-label': `Unassign ${policy.displayName}` }, 'Unassign') : '', ' ',
        h('button', { type: 'button', className: 'danger', onclick: guard(() => deletePolicy(policy)), 'aria-label': `Delete ${policy.displayName}` }, 'Delete')));
  });
  $('#policies-table tbody').replaceChildren(...rows);
  $('#policies-empty').hidden = rows.length > 0;
  await loadImageChoices();
}

/** The images the form offers: the tenant's ready device images, or the gallery images a new policy may use. */
async function loadImageChoices() {
  const form = $('#policy-form');
  const select = form.elements.imageId;
  const kept = select.value;
  let options;
  if (form.elements.imageType.value === 'custom') {
    const data = await graph('GET', `/beta/${COLLECTION}?$filter=status eq 'ready'&$select=id,displayName,version&$top=100`);
    options = data.value.map((i) => h('option', { value: i.id }, `${i.displayName} ${i.version}`));
  } else {
    const data = await graph('GET', `/beta/${GALLERY}?$filter=status ne 'notSupported'&$select=id,displayName,status`);
    options = data.value.map((g) => h('option', { value: g.id }, `${g.displayName} (${g.status})`));
  }
  select.replaceChildren(...options);
  if (options.some((o) => o.value === kept)) select.value = kept;
}

async function unassign(policy) {
  await graph('POST', `/beta/${POLICIES}/${policy.id}/assign`, { body: { assignments: [] } });
  say(`${policy.displayName} is no longer assigned.`);
  await loadPolicies();
}

async function deletePolicy(policy) {
  if (!(await confirmAction(`Delete the provisioning policy ${policy.displayName}?`, 'Delete'))) return;
  await graph('DELETE', `/beta/${POLICIES}/${policy.id}`);
  say('Provisioning policy deleted.');
  await loadPolicies();
}

function setUpPolicies() {
  const form = $('#policy-form');
  form.elements.imageType.addEventListener('change', guard(loadImageChoices));
  $('#policies-tenant').addEventListener('change', guard(async (event) => {
    images.tenant = event.target.value;
    images.pages = [];
    await loadPoliciesAndTenants();
  }));
  form.addEventListener('submit', guard(async (event) => {
    event.preventDefault();
    const body = {
      displayName: form.elements.displayName.value.trim(),
      imageType: form.elements.imageType.value,
      imageId: form.elements.imageId.value,
    };
    const created = await graph('POST', `/beta/${POLICIES}`, { body });
    const groupId = form.elements.groupId.value.trim();
    if (groupId) {
      await graph('POST', `/beta/${POLICIES}/${created.id}/assign`, { body: { assignments: [{ target: { groupId } }] } });
    }
    say(`Provisioning policy ${created.displayName} created.`);
    form.elements.displayName.value = '';
    form.elements.groupId.value = '';
    await loadPolicies();
  }));
}

// ---------------------------------------------------------------------------------------------- source catalog

let editing = null;

async function loadCatalog() {
  const { value } = await control('GET', '/source-images');
  const rows = value.map((entry) => h('tr', {},
    h('td', { className: 'wrap mono' }, entry.resourceId),
    h('td', { title: entry.displayName }, entry.displayName),
    h('td', { className: 'wrap' }, badge(entry.outcome), entry.errorCode ? ` ${entry.errorCode}` : ''),
    h('td', { title: entry.operatingSystem || '' }, entry.operatingSystem || '—'),
    h('td', {}, entry.sizeInGB === null || entry.sizeInGB === undefined ? '—' : `${entry.sizeInGB} GB`),
    h('td', { className: 'actions-cell' },
      h('button', { type: 'button', onclick: () => editEntry(entry), 'aria-label': `Edit ${entry.displayName}` }, 'Edit'), ' ',
      h('button', { type: 'button', className: 'danger', onclick: guard(() => deleteEntry(entry)), 'aria-label': `Delete ${entry.displayName}` }, 'Delete'))));
  $('#catalog-table tbody').replaceChildren(...rows);
}

const ENTRY_FIELDS = ['resourceId', 'outcome', 'errorCode', 'displayName', 'subscriptionDisplayName', 'operatingSystem',
  'osBuildNumber', 'osVersionNumber', 'osStatus', 'sizeInGB', 'expirationDate'];

function editEntry(entry) {
  const form = $('#catalog-form');
  editing = entry.resourceId;
  for (const name of ENTRY_FIELDS) form.elements[name].value = entry[name] ?? '';
  form.elements.resourceId.readOnly = true;
  $('#catalog-form-title').textContent = 'Edit an entry';
  $('#catalog-submit').textContent = 'Save entry';
  $('#catalog-cancel').hidden = false;
  form.elements.outcome.focus();
}

function stopEditing() {
  const form = $('#catalog-form');
  editing = null;
  form.reset();
  form.elements.resourceId.readOnly = false;
  $('#catalog-form-title').textContent = 'Add an entry';
  $('#catalog-submit').textContent = 'Add entry';
  $('#catalog-cancel').hidden = true;
}

/** `/_emulator/source-images` + the resource id as the path, each segment encoded. */
function entryPath(resourceId) {
  return '/source-images' + resourceId.split('/').map(encodeURIComponent).join('/');
}

async function deleteEntry(entry) {
  if (!(await confirmAction(`Delete the catalog entry ${entry.resourceId}? Uploads of it will fail with sourceImageNotFound.`, 'Delete'))) return;
  await control('DELETE', entryPath(entry.resourceId));
  if (editing === entry.resourceId) stopEditing();
  say('Catalog entry deleted.');
  await loadCatalog();
}

function setUpCatalog() {
  const form = $('#catalog-form');
  form.addEventListener('submit', guard(async (event) => {
    event.preventDefault();
    const body = {};
    for (const name of ENTRY_FIELDS) {
      const value = form.elements[name].value.trim();
      if (value !== '') body[name] = name === 'sizeInGB' ? Number(value) : value;
    }
    if (editing) {
      delete body.resourceId;
      await control('PUT', entryPath(editing), body);
      say('Catalog entry saved.');
    } else {
      await control('POST', '/source-images', body);
      say('Catalog entry added.');
    }
    stopEditing();
    await loadCatalog();
  }));
  $('#catalog-cancel').addEventListener('click', stopEditing);
}

// ---------------------------------------------------------------------------------------------- requests

const expanded = new Set();

async function loadRequests() {
  const form = $('#requests-query');
  const query = new URLSearchParams();
  for (const name of ['method', 'path', 'status', 'limit']) {
    const value = form.elements[name].value.trim();
    if (value) query.set(name, value);
  }
  const { value } = await control('GET', `/requests?${query}`);
  // The downloads carry the same filters (without the view's limit: a file holds every matching entry).
  const files = new URLSearchParams(query);
  files.delete('limit');
  for (const format of ['har', 'http']) {
    files.set('format', format);
    $(`#requests-${format}`).href = `/_emulator/requests?${files}`;
  }
  const rows = [];
  for (const entry of value) {
    const open = expanded.has(entry.id);
    const toggle = () => {
      if (expanded.has(entry.id)) expanded.delete(entry.id); else expanded.add(entry.id);
      guard(loadRequests)();
    };
    const path = entry.query ? `${entry.path}?${entry.query}` : entry.path;
    rows.push(h('tr', {
      className: 'selectable',
      tabIndex: 0,
      'aria-expanded': String(open),
      'data-request-id': entry.requestId,
      onclick: toggle,
      onkeydown: (event) => {
        if (event.key === 'Enter' || event.key === ' ') { event.preventDefault(); toggle(); }
      },
    },
    h('td', {}, formatTime(entry.time)),
    h('td', {}, entry.method),
    h('td', { title: path, className: 'mono' }, path),
    h('td', {}, h('span', { className: `status-code s${String(entry.status)[0]}` }, entry.status)),
    h('td', {}, `${entry.durationMs.toFixed(1)} ms`),
    h('td', { className: 'mono', title: entry.requestId }, entry.requestId)));
    if (open) {
      rows.push(h('tr', { className: 'journal-detail' }, h('td', { colSpan: 6 },
        h('h4', {}, 'Request headers'), h('pre', {}, JSON.stringify(entry.requestHeaders, null, 2)),
        h('h4', {}, 'Request body'), h('pre', {}, pretty(entry.requestBody)),
        h('h4', {}, 'Response body'), h('pre', {}, entry.responseBody === null && entry.method === 'GET'
          && entry.status >= 200 && entry.status < 300
          ? '(not kept for a successful read: read it again)' : pretty(entry.responseBody)),
        h('p', {}, `client-request-id ${entry.clientRequestId}`,
          entry.imageId ? ` · image ${entry.imageId}` : '',
          entry.faultId ? ` · answered by fault rule ${entry.faultId}` : ''))));
    }
  }
  $('#requests-table tbody').replaceChildren(...rows);
  $('#requests-empty').hidden = value.length > 0;
}

function setUpRequests() {
  $('#requests-query').addEventListener('submit', guard(async (event) => {
    event.preventDefault();
    await loadRequests();
  }));
  $('#requests-clear').addEventListener('click', guard(async () => {
    if (!(await confirmAction('Clear the whole request journal?', 'Clear'))) return;
    await control('DELETE', '/requests');
    expanded.clear();
    say('Journal cleared.');
    await loadRequests();
  }));
}

// ---------------------------------------------------------------------------------------------- faults

function effect(rule) {
  if (rule.action === 'error') {
    return `${rule.status} ${rule.code}${rule.retryAfter !== null && rule.retryAfter !== undefined ? `, Retry-After ${rule.retryAfter}` : ''}`;
  }
  if (rule.action === 'latency') return `+${rule.latencyMs} ms`;
  return `${rule.limit} per ${rule.windowSeconds} s`;
}

async function loadFaults() {
  const { value } = await control('GET', '/faults');
  const rows = value.map((rule) => h('tr', { 'data-rule': rule.id },
    h('td', {}, rule.id),
    h('td', {}, rule.action),
    h('td', {}, rule.method || 'any'),
    h('td', {}, rule.apiVersion || 'both'),
    h('td', { className: 'mono', title: rule.path }, rule.path),
    h('td', { title: effect(rule) }, effect(rule)),
    h('td', {}, rule.probability),
    h('td', {}, rule.remaining === null ? '∞' : rule.remaining),
    h('td', { className: 'actions-cell' }, h('button', {
      type: 'button',
      className: 'danger',
      'aria-label': `Delete rule ${rule.id}`,
      onclick: guard(async () => {
        await control('DELETE', `/faults/${rule.id}`);
        say(`Rule ${rule.id} deleted.`);
        await loadFaults();
      }),
    }, 'Delete'))));
  $('#faults-table tbody').replaceChildren(...rows);
  $('#faults-empty').hidden = value.length > 0;
}

const FAULT_FIELDS = {
  error: { status: Number, code: String, message: String, retryAfter: Number },
  latency: { latencyMs: Number },
  throttle: { limit: Number, windowSeconds: Number },
};

function setUpFaults() {
  const form = $('#fault-form');
  const showFields = () => {
    for (const label of $$('[data-for]', form)) label.hidden = label.dataset.for !== form.elements.action.value;
  };
  form.elements.action.addEventListener('change', showFields);
  showFields();
  form.addEventListener('submit', guard(async (event) => {
    event.preventDefault();
    const action = form.elements.action.value;
    const body = { action };
    const fields = { method: String, apiVersion: String, path: String, probability: Number, count: Number, ...FAULT_FIELDS[action] };
    for (const [name, type] of Object.entries(fields)) {
      const value = form.elements[name].value.trim();
      if (value !== '') body[name] = type(value);
    }
    const rule = await control('POST', '/faults', body);
    say(`Rule ${rule.id} added.`);
    await loadFaults();
  }));
  $('#faults-clear').addEventListener('click', guard(async () => {
    if (!(await confirmAction('Delete every fault rule?', 'Delete all'))) return;
    await control('DELETE', '/faults');
    say('Every fault rule deleted.');
    await loadFaults();
  }));
}

// ---------------------------------------------------------------------------------------------- clock

const clock = { now: null, at: 0 };

function showClock(view) {
  clock.now = Date.parse(view.now);
  clock.at = Date.now();
  $('#clock-offset').textContent = formatOffset(view.offsetSeconds);
  tickClock();
}

function tickClock() {
  if (clock.now === null) return;
  const now = new Date(clock.now + (Date.now() - clock.at)).toISOString().replace(/\.\d+Z$/, 'Z');
  $('#clock-now').textContent = formatTime(now);
  $('#header-now').textContent = formatTime(now);
}

function formatOffset(seconds) {
  if (!seconds) return 'none (real time)';
  const parts = [];
  let left = Math.round(seconds);
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['min', 60], ['s', 1]]) {
    if (left >= size) { parts.push(`${Math.floor(left / size)} ${unit}`); left %= size; }
  }
  return `+${parts.join(' ') || `${seconds} s`} ahead`;
}

async function loadClock() {
  showClock(await control('GET', '/clock'));
}

async function advance(seconds) {
  showClock(await control('POST', '/clock', { advanceSeconds: seconds }));
  say(`Clock advanced by ${seconds} s; uploads due by then are complete.`);
  await loadImages();
}

function setUpClock() {
  const form = $('#clock-form');
  form.addEventListener('submit', guard(async (event) => {
    event.preventDefault();
    await advance(Number(form.elements.advanceSeconds.value));
  }));
  for (const button of $$('[data-advance]', form)) {
    button.addEventListener('click', guard(() => advance(Number(button.dataset.advance))));
  }
}

// ---------------------------------------------------------------------------------------------- reset and snapshot

function setUpMaintenance() {
  $('#reset-open').addEventListener('click', guard(async () => {
    const catalog = $('#reset-catalog').checked;
    const text = `Reset the emulator? Every image of every tenant, the journal and the fault rules are deleted and the clock is set back${catalog ? ', and the source catalog returns to its seeded entries' : ''}.`;
    if (!(await confirmAction(text, 'Reset'))) return;
    await control('POST', `/reset${catalog ? '?catalog=true' : ''}`);
    images.pages = [];
    closeDetail();
    expanded.clear();
    await loadClock();
    say('The emulator was reset.');
  }));
  const stateForm = $('#state-form');
  stateForm.addEventListener('submit', guard(async (event) => {
    event.preventDefault();
    const file = stateForm.elements.file.files[0];
    const mode = stateForm.elements.mode.value;
    if (!file) return;
    let doc;
    try {
      doc = JSON.parse(await file.text());
    } catch {
      throw new Error(`${file.name} is not JSON.`);
    }
    if (mode === 'replace' && !(await confirmAction('Replace the state? Everything is reset before the import.', 'Replace'))) return;
    $('#state-result').textContent = '';
    const result = await control('POST', `/import?mode=${mode}`, doc);
    const n = result.imported;
    $('#state-result').textContent = `Imported (${mode}): images ${n.images}, catalog entries ${n.sourceImages}, fault rules ${n.faults}.`;
    images.pages = [];
    await loadClock();
  }));
  const form = $('#snapshot-form');
  form.addEventListener('submit', guard(async (event) => {
    event.preventDefault();
    const result = await control('POST', '/snapshot', { name: form.elements.name.value.trim() });
    $('#snapshot-result').textContent = `Saved snapshots/${result.name} (${result.bytes.toLocaleString('en')} bytes).`;
  }));
}

// ---------------------------------------------------------------------------------------------- start

async function loadReady() {
  const badgeEl = $('#ready');
  try {
    const ready = await control('GET', '/ready');
    badgeEl.textContent = `ready · ${ready.migrations} migrations`;
    badgeEl.className = 'badge ok';
  } catch (e) {
    badgeEl.textContent = e instanceof Failure ? `not ready: ${e.message}` : 'not ready';
    badgeEl.className = 'badge bad';
  }
}

let ticks = 0;
function live() {
  tickClock();
  if (document.hidden) return;
  ticks += 1;
  const background = { background: true };
  if (ticks % 5 === 0) { guard(loadClock, background)(); loadReady(); }
  if (ticks % 2 !== 0) return;
  if (currentView === 'images' && $('#images-live').checked) guard(loadImages, background)();
  if (currentView === 'requests' && $('#requests-live').checked) guard(loadRequests, background)();
  if (currentView === 'images' && ticks % 4 === 0) guard(loadTenants, background)();
}

document.addEventListener('DOMContentLoaded', () => {
  setUpTabs();
  setUpImages();
  setUpPolicies();
  setUpCatalog();
  setUpRequests();
  setUpFaults();
  setUpClock();
  setUpMaintenance();
  guard(loadClock)();
  loadReady();
  showView(window.location.hash.slice(1) || 'images');
  setInterval(live, LIVE_MS / 2); // the clock ticks every second, data every other
});
