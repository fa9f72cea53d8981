// The auditor console: sign-in, timeline with filters, job paths, entries, charts and log integrity.
// Routes live in the URL hash (#/timeline?..., #/job/<id>, #/entry/<index>, #/charts?..., #/integrity),
// so the back button, reloads and shared links keep the view and its filters.
import { Api, ApiError, forgetToken, saveToken, savedToken } from './api.js';
import { badge, clear, fmtNumber, fmtTime, h, idText, shortId } from './dom.js';
import { EVENT_TYPES, refusalReasons, summary, typeKind } from './events.js';
import { barChart, lineChart, timeBuckets } from './charts.js';
import { Verifier, forgetSeenCheckpoint } from './verify.js';

const main = document.getElementById('main');
const banner = document.getElementById('checkpoint');
const nav = document.getElementById('nav');
const signOutButton = document.getElementById('sign-out');

const FILTER_KEYS = ['dataset', 'consumer', 'purpose', 'job', 'type', 'from', 'to'];
const PAGE_SIZES = [25, 50, 100];

let api = null;
let verifier = null;
/** dataset id -> name (from dataset.registered), consumer ids (from participant.added). */
let directory = { datasets: new Map(), policies: new Map(), consumers: [] };
let renderSeq = 0;

// ---------- routing ----------

function parseRoute() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, query = ''] = raw.split('?');
  const [view = 'timeline', ...rest] = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { view, arg: rest.join('/'), params: new URLSearchParams(query) };
}

function href(view, arg, params) {
  const q = params ? new URLSearchParams([...params].filter(([, v]) => v !== '')).toString() : '';
  return `#/${view}${arg !== undefined && arg !== '' ? `/${encodeURIComponent(arg)}` : ''}${q ? `?${q}` : ''}`;
}

function filtersFrom(params) {
  const f = {};
  for (const k of FILTER_KEYS) if (params.get(k)) f[k] = params.get(k);
  return f;
}

function setTitle(text) {
  document.title = `${text} · Auditor console`;
}

/** Moves focus to the new view's heading so keyboard and screen-reader users land on it. */
function focusHeading() {
  const h1 = main.querySelector('h2');
  if (h1) {
    h1.setAttribute('tabindex', '-1');
    h1.focus({ preventScroll: true });
  }
}

// ---------- sign-in ----------

function showSignIn(message) {
  nav.hidden = true;
  signOutButton.hidden = true;
  banner.hidden = true;
  setTitle('Sign in');
  const input = h('input', {
    id: 'token',
    name: 'token',
    type: 'password',
    autocomplete: 'off',
    spellcheck: 'false',
    required: true,
    'aria-describedby': 'token-help',
  });
  const error = h('p', { id: 'sign-in-error', class: 'error', role: 'alert' }, message ?? '');
  const form = h(
    'form',
    {
      class: 'card sign-in',
      on: {
        submit: async (ev) => {
          ev.preventDefault();
          const token = input.value.trim();
          if (!token) return;
          error.textContent = 'Checking the token…';
          try {
            // /ledger/raw is for auditors only: it tells an auditor token from the others without a separate endpoint.
            await new Api(token).get('/ledger/raw', { limit: 1 });
          } catch (e) {
            error.textContent =
              e instanceof ApiError && e.status === 401
                ? 'This token is not known to the ledger.'
                : e instanceof ApiError && e.status === 403
                  ? 'This token does not belong to an auditor.'
                  : `Sign-in failed: ${e.message}`;
            input.focus();
            return;
          }
          saveToken(token);
          input.value = '';
          await start(token);
        },
      },
    },
    h('h2', {}, 'Sign in'),
    h('label', { for: 'token' }, 'Auditor token'),
    input,
    h(
      'p',
      { id: 'token-help', class: 'muted' },
      'The bearer token an administrator issued to you. It is kept only for this browser tab (session storage).',
    ),
    h('button', { type: 'submit', class: 'primary' }, 'Sign in'),
    error,
  );
  clear(main).append(form);
  input.focus();
}

function signOut(message) {
  forgetToken();
  api = null;
  verifier = null;
  showSignIn(message);
}

async function start(token) {
  api = new Api(token, { onUnauthorized: () => signOut('Your token is no longer accepted. Sign in again.') });
  verifier = new Verifier(api);
  verifier.onChange(renderBanner);
  nav.hidden = false;
  signOutButton.hidden = false;
  banner.hidden = false;
  renderBanner(null);
  await Promise.all([loadDirectory(), verifier.refresh()]);
  await render();
}

async function loadDirectory() {
  const [ds, ps] = await Promise.all([
    api.allEntries({ type: 'dataset.registered' }, 5000).catch(() => ({ entries: [] })),
    api.allEntries({ type: 'participant.added' }, 5000).catch(() => ({ entries: [] })),
  ]);
  const datasets = new Map();
  const policies = new Map();
  for (const { event } of ds.entries) {
    const id = event.datasets?.[0];
    if (!id) continue;
    datasets.set(id, String(event.data?.name ?? id));
    if (event.data?.policy) policies.set(id, event.data.policy);
  }
  const consumers = ps.entries.filter((e) => e.event.data?.role === 'consumer').map((e) => String(e.event.data.participant));
  directory = { datasets, policies, consumers };
}

function datasetName(id) {
  return directory.datasets.get(id) ?? shortId(id);
}

// ---------- checkpoint banner ----------

function renderBanner(state) {
  clear(banner);
  if (!state) {
    banner.className = 'banner';
    banner.append(badge('pending', 'Checking the latest signed checkpoint…'));
    return;
  }
  if (!state.checkpoint) {
    banner.className = 'banner banner-fail';
    banner.append(badge('fail', 'Checkpoint verification failed'), ' ', state.error ?? '');
    return;
  }
  const cp = state.checkpoint;
  const c = state.consistency;
  banner.className = c.status === 'failed' ? 'banner banner-fail' : 'banner banner-ok';
  const parts = [
    badge('ok', 'Checkpoint signature verified'),
    ` ${fmtNumber(cp.size)} entries, signed ${cp.time ? fmtTime(cp.time) : ''} by ${cp.keyName} (key id ${cp.keyId}). `,
  ];
  if (c.status === 'first')
    parts.push(badge('warn', 'First visit'), ' This checkpoint is now remembered; the next visit checks that the log only grew from it.');
  else if (c.status === 'consistent')
    parts.push(
      badge('ok', 'Consistent'),
      ` with the checkpoint you saw ${c.prior.seenAt ? `on ${fmtTime(c.prior.seenAt)}` : 'before'} (${fmtNumber(c.prior.size)} entries).`,
    );
  else parts.push(badge('fail', 'Consistency check failed'), ` ${c.reason}`);
  banner.append(...parts, ' ', h('a', { href: '#/integrity' }, 'Details'));
  banner.setAttribute('role', c.status === 'failed' ? 'alert' : 'status');
}

// ---------- shared pieces ----------

function datasetLinks(ids, params) {
  if (!ids?.length) return '—';
  return ids.map((id, i) => [
    i ? ', ' : '',
    h(
      'a',
      { href: href('timeline', '', withParam(params, 'dataset', id)), title: `Filter to dataset ${id}`, 'data-dataset': id },
      datasetName(id),
    ),
  ]);
}

function withParam(params, key, value) {
  const p = new URLSearchParams(params ?? '');
  p.set(key, value);
  p.delete('offset');
  return p;
}

function verifyCell(entry) {
  const cell = h('td', { class: 'verify' });
  const run = async () => {
    clear(cell).append(badge('pending', 'Checking'));
    const r = await verifier.verifyEntry(entry);
    clear(cell).append(
      r.ok
        ? h('span', { 'data-verify': 'ok', title: r.steps.map((s) => `${s.label}: ${s.detail}`).join('\n') }, badge('ok', 'Verified'))
        : h(
            'a',
            {
              href: href('entry', String(entry.index)),
              'data-verify': 'failed',
              title: r.steps
                .filter((s) => !s.ok)
                .map((s) => `${s.label}: ${s.detail}`)
                .join('\n'),
            },
            badge('fail', 'Failed'),
          ),
    );
    return r;
  };
  cell.append(h('button', { type: 'button', class: 'small', 'aria-label': `Verify entry ${entry.index}`, on: { click: run } }, 'Verify'));
  cell.run = run;
  return cell;
}

function errorBox(e) {
  return h('p', { class: 'error', role: 'alert' }, e instanceof ApiError ? `${e.message} (${e.code})` : String(e?.message ?? e));
}

// ---------- filters ----------

function filterForm(view, params) {
  const f = filtersFrom(params);
  const dsSelect = h(
    'select',
    { id: 'f-dataset', name: 'dataset' },
    h('option', { value: '' }, 'Any dataset'),
    [...directory.datasets]
      .sort((a, b) => a[1].localeCompare(b[1]))
      .map(([id, name]) => h('option', { value: id, selected: f.dataset === id }, `${name} (${shortId(id)})`)),
  );
  if (f.dataset && !directory.datasets.has(f.dataset)) dsSelect.append(h('option', { value: f.dataset, selected: true }, f.dataset));
  const typeSelect = h(
    'select',
    { id: 'f-type', name: 'type' },
    h('option', { value: '' }, 'Any event type'),
    EVENT_TYPES.map((t) => h('option', { value: t, selected: f.type === t }, t)),
  );
  const text = (name, label, extra = {}) => [
    h('label', { for: `f-${name}` }, label),
    h('input', { id: `f-${name}`, name, type: 'text', value: f[name] ?? '', autocomplete: 'off', ...extra }),
  ];
  const when = (name, label) => [
    h('label', { for: `f-${name}` }, label),
    h('input', { id: `f-${name}`, name, type: 'datetime-local', value: f[name] ? f[name].slice(0, 16) : '' }),
  ];
  const form = h(
    'form',
    {
      class: 'filters',
      'aria-label': 'Filters',
      on: {
        submit: (ev) => {
          ev.preventDefault();
          const data = new FormData(form);
          const p = new URLSearchParams();
          for (const k of FILTER_KEYS) {
            let v = String(data.get(k) ?? '').trim();
            if (!v) continue;
            // datetime-local has no zone: the console reads and shows times in UTC; "to" includes its whole minute.
            if (k === 'from') v = `${v.slice(0, 16)}:00.000Z`;
            if (k === 'to') v = `${v.slice(0, 16)}:59.999Z`;
            p.set(k, v);
          }
          if (params.get('limit')) p.set('limit', params.get('limit'));
          location.hash = href(view, '', p);
        },
      },
    },
    h('div', { class: 'field' }, h('label', { for: 'f-dataset' }, 'Dataset'), dsSelect),
    h(
      'div',
      { class: 'field' },
      text('consumer', 'Consumer id', { list: 'consumer-ids' }),
      h(
        'datalist',
        { id: 'consumer-ids' },
        directory.consumers.map((c) => h('option', { value: c })),
      ),
    ),
    h('div', { class: 'field' }, text('purpose', 'Purpose')),
    h('div', { class: 'field' }, text('job', 'Job id')),
    h('div', { class: 'field' }, h('label', { for: 'f-type' }, 'Event type'), typeSelect),
    h('div', { class: 'field' }, when('from', 'From (UTC)')),
    h('div', { class: 'field' }, when('to', 'To (UTC)')),
    h(
      'div',
      { class: 'field actions' },
      h('button', { type: 'submit', class: 'primary' }, 'Apply filters'),
      h('a', { href: href(view), class: 'button' }, 'Clear'),
    ),
  );
  return form;
}

function viewTabs(current, params) {
  const p = new URLSearchParams(params);
  p.delete('offset');
  return h(
    'nav',
    { class: 'tabs', 'aria-label': 'Views of the filtered events' },
    h('a', { href: href('timeline', '', p), 'aria-current': current === 'timeline' ? 'page' : null }, 'Timeline'),
    h('a', { href: href('charts', '', p), 'aria-current': current === 'charts' ? 'page' : null }, 'Charts'),
  );
}

// ---------- timeline ----------

async function renderTimeline(seq, params) {
  setTitle('Timeline');
  const f = filtersFrom(params);
  const limit = PAGE_SIZES.includes(Number(params.get('limit'))) ? Number(params.get('limit')) : 50;
  const offset = Math.max(0, Number.parseInt(params.get('offset') ?? '0', 10) || 0);
  const status = h('p', { class: 'muted', role: 'status' }, 'Loading events…');
  const body = h('div', {});
  clear(main).append(h('h2', {}, 'Usage timeline'), filterForm('timeline', params), viewTabs('timeline', params), status, body);
  const newest = params.get('order') !== 'oldest';
  let page;
  try {
    if (newest) {
      // The API lists in log order; the newest page is the tail of the filtered list, reversed.
      const { total } = await api.get('/ledger/entries', { ...f, offset: 0, limit: 1 });
      const end = total - offset;
      const start = Math.max(0, end - limit);
      page = end > 0 ? await api.get('/ledger/entries', { ...f, offset: start, limit: end - start }) : { total, entries: [] };
      page = { total, entries: page.entries.slice().reverse() };
    } else {
      page = await api.get('/ledger/entries', { ...f, offset, limit });
    }
  } catch (e) {
    if (seq === renderSeq) {
      status.textContent = '';
      body.append(errorBox(e));
    }
    return;
  }
  if (seq !== renderSeq) return;
  const active = Object.entries(f)
    .map(([k, v]) => `${k} ${k === 'dataset' ? datasetName(v) : v}`)
    .join(', ');
  status.textContent =
    page.total === 0
      ? `No events${active ? ` match ${active}` : ''}.`
      : `Showing ${fmtNumber(offset + 1)}–${fmtNumber(offset + page.entries.length)} of ${fmtNumber(page.total)} events${active ? ` (${active})` : ''}, ${newest ? 'newest' : 'oldest'} first.`;
  if (page.total === 0) return;
  const cells = [];
  const rows = page.entries.map((entry) => {
    const e = entry.event;
    const vc = verifyCell(entry);
    cells.push(vc);
    return h(
      'tr',
      { 'data-index': entry.index },
      h(
        'td',
        { class: 'num' },
        h('a', { href: href('entry', String(entry.index)), 'aria-label': `Entry ${entry.index}` }, `#${entry.index}`),
      ),
      h('td', { class: 'nowrap' }, h('time', { datetime: e.at }, fmtTime(e.at))),
      h('td', {}, h('span', { class: `type type-${typeKind(e.type)}` }, e.type)),
      h('td', {}, datasetLinks(e.datasets, params)),
      h(
        'td',
        {},
        e.consumer
          ? h('a', { href: href('timeline', '', withParam(params, 'consumer', e.consumer)) }, idText(e.consumer, 'consumer'))
          : '—',
      ),
      h('td', {}, e.job ? h('a', { href: href('job', e.job), 'data-job': e.job }, idText(e.job, 'job')) : '—'),
      h(
        'td',
        { class: 'summary' },
        summary(e, directory.datasets),
        e.purpose ? h('span', { class: 'muted' }, ` · purpose ${e.purpose}`) : null,
      ),
      vc,
    );
  });
  const verifyAll = h(
    'button',
    {
      type: 'button',
      on: {
        click: async () => {
          verifyAll.disabled = true;
          const results = [];
          for (const c of cells) results.push(await c.run());
          const bad = results.filter((r) => !r.ok).length;
          verifyAll.disabled = false;
          verifySummary.textContent = bad
            ? `${bad} of ${results.length} entries failed verification.`
            : `All ${results.length} entries on this page verified.`;
          verifySummary.className = bad ? 'error' : 'ok-text';
        },
      },
    },
    'Verify all entries on this page',
  );
  const verifySummary = h('span', { role: 'status' });
  const orderSelect = h(
    'select',
    {
      id: 'order',
      on: {
        change: () => {
          const q = new URLSearchParams(params);
          q.set('order', orderSelect.value);
          q.delete('offset');
          location.hash = href('timeline', '', q);
        },
      },
    },
    h('option', { value: 'newest', selected: newest }, 'Newest first'),
    h('option', { value: 'oldest', selected: !newest }, 'Oldest first'),
  );
  const pager = pagerNav(params, offset, limit, page.total);
  body.append(
    h('div', { class: 'toolbar' }, h('label', { for: 'order' }, 'Order'), orderSelect, verifyAll, ' ', verifySummary),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'events' },
        h('caption', { class: 'visually-hidden' }, `Ledger entries, ${newest ? 'newest' : 'oldest'} first`),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['Entry', 'Time', 'Event', 'Datasets', 'Consumer', 'Job', 'Details', 'Proof'].map((c) => h('th', { scope: 'col' }, c)),
          ),
        ),
        h('tbody', {}, rows),
      ),
    ),
    pager,
  );
}

function pagerNav(params, offset, limit, total) {
  const p = (o) => {
    const q = new URLSearchParams(params);
    q.set('offset', String(o));
    return href('timeline', '', q);
  };
  const pages = Math.max(1, Math.ceil(total / limit));
  const current = Math.floor(offset / limit) + 1;
  const sizeSelect = h(
    'select',
    {
      id: 'page-size',
      on: {
        change: () => {
          const q = new URLSearchParams(params);
          q.set('limit', sizeSelect.value);
          q.delete('offset');
          location.hash = href('timeline', '', q);
        },
      },
    },
    PAGE_SIZES.map((n) => h('option', { value: n, selected: n === limit }, String(n))),
  );
  return h(
    'nav',
    { class: 'pager', 'aria-label': 'Pages' },
    offset > 0
      ? h('a', { href: p(Math.max(0, offset - limit)), class: 'button', rel: 'prev' }, '← Previous')
      : h('span', { class: 'button disabled', 'aria-disabled': 'true' }, '← Previous'),
    h('span', {}, ` Page ${current} of ${pages} `),
    offset + limit < total
      ? h('a', { href: p(offset + limit), class: 'button', rel: 'next' }, 'Next →')
      : h('span', { class: 'button disabled', 'aria-disabled': 'true' }, 'Next →'),
    h('label', { for: 'page-size' }, ' Per page '),
    sizeSelect,
  );
}

// ---------- job page ----------

const STEP_TITLES = {
  'job.dry-run': 'Dry run',
  'job.submitted': 'Submitted',
  'job.refused': 'Refused by policy',
  'inputs.encrypted': 'Inputs encrypted',
  'inputs.refused': 'Provider refused its inputs',
  'job.evaluated': 'Evaluated on ciphertexts',
  'job.released': 'Released',
  'job.failed': 'Failed',
  'job.cancelled': 'Cancelled',
  'result.fetched': 'Result fetched',
  'budget.charged': 'Budget charged',
};

async function renderJob(seq, jobId) {
  setTitle(`Job ${shortId(jobId)}`);
  clear(main).append(h('h2', {}, 'Job ', h('code', {}, jobId)), h('p', { class: 'muted', role: 'status' }, "Loading the job's events…"));
  let list;
  try {
    list = await api.allEntries({ job: jobId }, 5000);
  } catch (e) {
    if (seq === renderSeq) main.append(errorBox(e));
    return;
  }
  if (seq !== renderSeq) return;
  const entries = list.entries;
  clear(main).append(
    h('p', { class: 'crumbs' }, h('a', { href: href('timeline') }, 'Timeline'), ' › job'),
    h('h2', {}, 'Job ', h('code', {}, jobId)),
  );
  if (!entries.length) {
    main.append(h('p', {}, 'The ledger has no events for this job.'));
    return;
  }
  const first = entries[0].event;
  const submitted = entries.find((x) => x.event.type === 'job.submitted')?.event;
  const refused = entries.find((x) => x.event.type === 'job.refused')?.event;
  const released = entries.find((x) => x.event.type === 'job.released')?.event;
  const last = entries[entries.length - 1].event;
  const bindings = submitted?.data?.bindings && typeof submitted.data.bindings === 'object' ? submitted.data.bindings : {};
  const encrypted = entries.filter((x) => x.event.type === 'inputs.encrypted').map((x) => x.event.data?.role);
  const status = refused ? 'refused' : released ? 'released' : last.type.replace(/^job\./, '');
  const summaryLine = h(
    'p',
    { role: 'status', class: 'job-verify-summary' },
    badge('pending', `Verifying ${entries.length} ledger entries…`),
  );
  main.append(
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'Scenario'),
      h('dd', {}, first.scenario ?? '—'),
      h('dt', {}, 'Consumer'),
      h(
        'dd',
        {},
        first.consumer
          ? h('a', { href: href('timeline', '', new URLSearchParams({ consumer: first.consumer })) }, h('code', {}, first.consumer))
          : '—',
      ),
      h('dt', {}, 'Purpose'),
      h('dd', {}, first.purpose ?? '—'),
      h('dt', {}, 'Datasets'),
      h('dd', {}, datasetLinks(first.datasets, new URLSearchParams())),
      h('dt', {}, 'Status'),
      h('dd', {}, status),
      ...(submitted ? [h('dt', {}, 'ε charged'), h('dd', {}, fmtNumber(submitted.data?.epsilon ?? 0))] : []),
      ...(released ? [h('dt', {}, 'ε spent at release'), h('dd', {}, fmtNumber(released.data?.epsilonSpent ?? 0))] : []),
    ),
    summaryLine,
  );
  const steps = [];
  for (const entry of entries) {
    const e = entry.event;
    let title = STEP_TITLES[e.type] ?? e.type;
    if (e.type === 'inputs.encrypted' || e.type === 'inputs.refused') title += e.data?.role ? ` — role ${e.data.role}` : '';
    const vc = h('div', { class: 'step-verify' });
    const detail = [h('p', {}, summary(e, directory.datasets))];
    if (e.type === 'job.submitted') {
      detail.unshift(
        h(
          'p',
          { class: 'decision ok-text' },
          badge('ok', 'Policy decision: allowed'),
          ` every bound dataset's usage policy accepted consumer, purpose and ε ${fmtNumber(e.data?.epsilon ?? 0)}.`,
        ),
      );
    }
    if (e.type === 'job.refused' || e.type === 'inputs.refused') {
      const rs = refusalReasons(e);
      detail.unshift(h('p', { class: 'decision' }, badge('fail', 'Policy decision: refused')));
      detail.push(
        h(
          'ul',
          { class: 'reasons', 'aria-label': 'Reasons' },
          rs.map((r) =>
            h('li', {}, h('code', {}, r.code), r.dataset ? [' — dataset ', datasetName(r.dataset)] : '', r.role ? ` (role ${r.role})` : ''),
          ),
        ),
      );
    }
    steps.push({ entry, vc });
    main.append(
      h(
        'section',
        { class: `step step-${typeKind(e.type)}`, 'aria-labelledby': `step-${entry.index}` },
        h('h3', { id: `step-${entry.index}` }, title),
        h(
          'p',
          { class: 'meta' },
          h('time', { datetime: e.at }, fmtTime(e.at)),
          ' · by ',
          e.actor?.role ?? '?',
          ' ',
          idText(e.actor?.id, 'actor'),
          ' · ',
          h('a', { href: href('entry', String(entry.index)) }, `ledger entry #${entry.index}`),
        ),
        detail,
        vc,
      ),
    );
  }
  // Steps the path should have but the ledger does not (yet) show.
  const missing = [];
  if (submitted) {
    for (const role of Object.keys(bindings))
      if (!encrypted.includes(role) && !entries.some((x) => x.event.type === 'inputs.refused' && x.event.data?.role === role))
        missing.push(`inputs for role ${role}`);
    const ended = entries.some((x) => /job\.(released|failed|cancelled)/.test(x.event.type));
    if (!entries.some((x) => x.event.type === 'job.evaluated') && !ended) missing.push('evaluation');
    if (!ended) missing.push('release');
  }
  if (missing.length) main.append(h('p', { class: 'muted' }, `Not in the ledger yet: ${missing.join(', ')}.`));
  let bad = 0;
  for (const { entry, vc } of steps) {
    if (seq !== renderSeq) return;
    const r = await verifier.verifyEntry(entry);
    if (!r.ok) bad += 1;
    clear(vc).append(verificationReport(r, entry));
    if (!r.ok) vc.closest('section')?.classList.add('step-unverified');
  }
  if (seq !== renderSeq) return;
  clear(summaryLine).append(
    bad
      ? badge('fail', `Verification failed for ${bad} of ${steps.length} entries of this job`)
      : badge('ok', `All ${steps.length} entries of this job verified against the signed checkpoint`),
  );
  summaryLine.dataset.verify = bad ? 'failed' : 'ok';
  summaryLine.setAttribute('role', bad ? 'alert' : 'status');
}

/** The steps of one entry's verification, as a short list with a clear overall result. */
function verificationReport(r, entry) {
  return h(
    'div',
    {
      class: `verification ${r.ok ? 'verification-ok' : 'verification-fail'}`,
      'data-verify': r.ok ? 'ok' : 'failed',
      'data-index': entry.index,
    },
    h('p', { class: 'verdict' }, r.ok ? badge('ok', 'Inclusion proof verified') : badge('fail', 'Verification failed')),
    h(
      'ul',
      {},
      r.steps.map((s) => h('li', {}, s.ok ? badge('ok', s.label) : badge('fail', s.label), ': ', h('span', { class: 'hash' }, s.detail))),
    ),
  );
}

// ---------- one entry ----------

async function renderEntry(seq, arg) {
  const index = Number(arg);
  if (!Number.isSafeInteger(index) || index < 0) {
    clear(main).append(h('h2', {}, 'Entry'), h('p', { class: 'error' }, 'Not an entry number.'));
    return;
  }
  setTitle(`Entry ${index}`);
  clear(main).append(h('h2', {}, `Ledger entry #${index}`), h('p', { class: 'muted', role: 'status' }, 'Loading…'));
  let raw;
  try {
    raw = (await api.get('/ledger/raw', { from: index, limit: 1 })).entries[0];
  } catch (e) {
    if (seq === renderSeq) main.append(errorBox(e));
    return;
  }
  if (seq !== renderSeq) return;
  clear(main).append(
    h('p', { class: 'crumbs' }, h('a', { href: href('timeline') }, 'Timeline'), ' › entry'),
    h('h2', {}, `Ledger entry #${index}`),
  );
  if (!raw || raw.index !== index) {
    main.append(h('p', {}, 'The ledger has no entry with this number.'));
    return;
  }
  let e;
  try {
    e = JSON.parse(raw.body);
  } catch {
    e = null;
  }
  const vc = h('div', { role: 'status' }, badge('pending', 'Verifying…'));
  main.append(
    e
      ? h(
          'dl',
          { class: 'facts' },
          h('dt', {}, 'Event'),
          h('dd', {}, h('span', { class: `type type-${typeKind(e.type)}` }, e.type), ' ', h('code', {}, e.id)),
          h('dt', {}, 'Time'),
          h('dd', {}, fmtTime(e.at)),
          h('dt', {}, 'Actor'),
          h('dd', {}, `${e.actor?.role ?? '?'} `, h('code', {}, e.actor?.id ?? '')),
          h('dt', {}, 'Job'),
          h('dd', {}, e.job ? h('a', { href: href('job', e.job) }, h('code', {}, e.job)) : '—'),
          h('dt', {}, 'Datasets'),
          h('dd', {}, datasetLinks(e.datasets, new URLSearchParams())),
          h('dt', {}, 'Consumer'),
          h('dd', {}, e.consumer ? h('code', {}, e.consumer) : '—'),
          h('dt', {}, 'Purpose'),
          h('dd', {}, e.purpose ?? '—'),
          h('dt', {}, 'Summary'),
          h('dd', {}, summary(e, directory.datasets)),
        )
      : h('p', { class: 'error' }, 'The stored body is not valid JSON.'),
    h('h3', {}, 'Verification'),
    vc,
    h('h3', {}, 'Stored leaf (RFC 8785 canonical JSON)'),
    h('pre', { class: 'body', tabindex: '0', 'aria-label': 'Stored leaf data' }, raw.body),
    h('p', {}, 'Listed leaf hash: ', h('code', { class: 'hash' }, raw.leafHash)),
  );
  const r = await verifier.verifyEntry(raw);
  if (seq !== renderSeq) return;
  clear(vc).append(verificationReport(r, raw));
  vc.setAttribute('role', r.ok ? 'status' : 'alert');
}

// ---------- charts ----------

async function renderCharts(seq, params) {
  setTitle('Charts');
  const f = filtersFrom(params);
  const status = h('p', { class: 'muted', role: 'status' }, 'Loading events for the charts…');
  const grid = h('div', { class: 'charts' });
  clear(main).append(h('h2', {}, 'Usage charts'), filterForm('charts', params), viewTabs('charts', params), status, grid);
  const { type, ...scope } = f;
  let usage, submittedAll, releasedAll, refusedJobs, refusedInputs;
  try {
    [usage, submittedAll, releasedAll, refusedJobs, refusedInputs] = await Promise.all([
      api.allEntries(f),
      api.allEntries({ ...scope, type: 'job.submitted' }),
      api.allEntries({ ...scope, type: 'job.released' }),
      api.allEntries({ ...scope, type: 'job.refused' }),
      api.allEntries({ ...scope, type: 'inputs.refused' }),
    ]);
  } catch (e) {
    if (seq === renderSeq) {
      status.textContent = '';
      grid.append(errorBox(e));
    }
    return;
  }
  if (seq !== renderSeq) return;
  const truncated = [usage, submittedAll, releasedAll, refusedJobs, refusedInputs].some((x) => x.truncated);
  status.textContent = `Based on ${fmtNumber(usage.entries.length)} events${truncated ? ' (only the first 20,000 of each kind are counted)' : ''}. All times UTC.`;

  // 1. Usage per dataset over time: events that name each dataset, by hour or day.
  const withDs = usage.entries.filter((x) => x.event.datasets?.length);
  const { buckets, unit, bucketOf } = timeBuckets(withDs.map((x) => x.event.at));
  const counts = new Map();
  for (const { event } of withDs) {
    for (const id of event.datasets) {
      if (f.dataset && id !== f.dataset) continue;
      if (!counts.has(id)) counts.set(id, new Array(buckets.length).fill(0));
      counts.get(id)[bucketOf(event.at)] += 1;
    }
  }
  const ranked = [...counts].sort((a, b) => b[1].reduce((s, v) => s + v, 0) - a[1].reduce((s, v) => s + v, 0));
  const series = ranked.slice(0, 6).map(([id, values]) => ({ name: datasetName(id), values }));
  if (ranked.length > 6) {
    const rest = new Array(buckets.length).fill(0);
    for (const [, values] of ranked.slice(6))
      values.forEach((v, i) => {
        rest[i] += v;
      });
    series.push({ name: `${ranked.length - 6} other datasets`, values: rest });
  }
  grid.append(
    lineChart({
      title: 'Usage per dataset over time',
      description: `${type ? `${type} events` : 'ledger events'} naming each dataset, per ${unit ?? 'day'}`,
      buckets,
      series,
      yLabel: 'events',
    }),
  );

  // 2. Epsilon per dataset and consumer: ε spent at release, or ε charged at submission for jobs not (yet) released.
  const spentByJob = new Map(releasedAll.entries.map((x) => [x.event.job, Number(x.event.data?.epsilonSpent ?? 0)]));
  const eps = new Map();
  for (const { event } of submittedAll.entries) {
    const value = spentByJob.has(event.job) ? spentByJob.get(event.job) : Number(event.data?.epsilon ?? 0);
    if (!(value > 0)) continue;
    for (const id of event.datasets ?? []) {
      if (f.dataset && id !== f.dataset) continue;
      const key = `${id}\u0000${event.consumer ?? ''}`;
      eps.set(key, (eps.get(key) ?? 0) + value);
    }
  }
  const epsItems = [...eps]
    .map(([key, value]) => {
      const [id, consumer] = key.split('\u0000');
      const budget = directory.policies.get(id)?.epsilonBudget;
      const name = datasetName(id);
      // Keep the consumer visible: shorten the dataset name, not the pair (the full label is in the table).
      return {
        label: `${name.length > 26 ? `${name.slice(0, 25)}…` : name} · ${shortId(consumer)}`,
        title: `${name} · consumer ${consumer}`,
        value,
        limit: typeof budget === 'number' ? budget : undefined,
      };
    })
    .sort((a, b) => b.value - a.value)
    .slice(0, 20);
  grid.append(
    barChart({
      title: 'Privacy budget (ε) spent per dataset and consumer',
      description: "ε spent at release (or charged at submission for jobs not released), against the dataset's per-consumer budget",
      items: epsItems,
      valueLabel: 'ε spent',
      limitLabel: 'ε budget',
      emptyText: 'No privacy budget was charged or spent by the jobs matching the filters.',
    }),
  );

  // 3. Refusals by reason code (policy refusals at submission and providers' refusals of their inputs).
  const reasons = new Map();
  for (const { event } of [...refusedJobs.entries, ...refusedInputs.entries]) {
    for (const r of refusalReasons(event)) {
      if (f.dataset && r.dataset && r.dataset !== f.dataset) continue;
      reasons.set(r.code, (reasons.get(r.code) ?? 0) + 1);
    }
  }
  grid.append(
    barChart({
      title: 'Refusals by reason',
      description: 'reason codes of job.refused and inputs.refused events',
      items: [...reasons].map(([label, value]) => ({ label, value })).sort((a, b) => b.value - a.value),
      valueLabel: 'refusals',
      emptyText: 'No refusals among the events matching the filters.',
    }),
  );
}

// ---------- integrity ----------

async function renderIntegrity(seq) {
  setTitle('Log integrity');
  const details = h('div', {});
  const progress = h('progress', { max: 1, value: 0, hidden: true, 'aria-label': 'Entries checked' });
  const result = h('div', { role: 'status' });
  const full = h(
    'button',
    {
      type: 'button',
      class: 'primary',
      on: {
        click: async () => {
          full.disabled = true;
          progress.hidden = false;
          clear(result).append(badge('pending', 'Reading and hashing every entry…'));
          const r = await verifier.verifyLog((done, total) => {
            progress.max = total;
            progress.value = done;
          });
          full.disabled = false;
          progress.hidden = true;
          clear(result).append(
            r.ok
              ? h(
                  'p',
                  { 'data-verify': 'ok' },
                  badge('ok', 'The whole log verified'),
                  ` ${fmtNumber(r.checked)} entries hash to the signed root ${r.root}.`,
                )
              : h(
                  'div',
                  { 'data-verify': 'failed' },
                  h(
                    'p',
                    {},
                    badge('fail', 'The log does not match its signed checkpoint'),
                    ' ',
                    r.error ?? (r.rootOk === false ? `the recomputed root ${r.root} differs from the signed root.` : ''),
                  ),
                  r.mismatches.length
                    ? h(
                        'ul',
                        {},
                        r.mismatches
                          .slice(0, 50)
                          .map((m) => h('li', {}, h('a', { href: href('entry', String(m.index)) }, `entry #${m.index}`), `: ${m.reason}`)),
                      )
                    : null,
                ),
          );
          result.setAttribute('role', r.ok ? 'status' : 'alert');
          drawDetails();
        },
      },
    },
    'Verify the whole log',
  );
  const signNew = h(
    'button',
    {
      type: 'button',
      on: {
        click: async () => {
          signNew.disabled = true;
          await verifier.refresh({ sign: true });
          signNew.disabled = false;
          drawDetails();
        },
      },
    },
    'Sign a new checkpoint now',
  );
  const forget = h(
    'button',
    {
      type: 'button',
      class: 'danger',
      on: {
        click: () => {
          if (!confirm("Forget the checkpoint remembered in this browser? The next visit will trust the ledger's checkpoint afresh."))
            return;
          forgetSeenCheckpoint();
          drawDetails();
        },
      },
    },
    'Forget the remembered checkpoint',
  );
  function drawDetails() {
    const st = verifier.state;
    clear(details);
    if (!st) return;
    if (!st.checkpoint) {
      details.append(h('p', { class: 'error' }, st.error));
      return;
    }
    const cp = st.checkpoint;
    details.append(
      h(
        'dl',
        { class: 'facts' },
        h('dt', {}, 'Origin'),
        h('dd', {}, cp.origin),
        h('dt', {}, 'Tree size'),
        h('dd', {}, fmtNumber(cp.size)),
        h('dt', {}, 'Root hash'),
        h('dd', {}, h('code', { class: 'hash' }, cp.rootBase64)),
        h('dt', {}, 'Signed at'),
        h('dd', {}, cp.time ? fmtTime(cp.time) : '—'),
        h('dt', {}, 'Key'),
        h('dd', {}, `${cp.keyName}, key id ${cp.keyId}, SHA-256 of the key `, h('code', { class: 'hash' }, cp.keyFingerprint)),
        h('dt', {}, 'Signature'),
        h('dd', {}, badge('ok', 'Ed25519 signature verified in this browser')),
        h('dt', {}, 'Consistency'),
        h(
          'dd',
          {},
          st.consistency.status === 'consistent'
            ? badge('ok', `extends the checkpoint of ${fmtNumber(st.consistency.prior.size)} entries you saw before`)
            : st.consistency.status === 'first'
              ? badge('warn', 'no earlier checkpoint remembered in this browser')
              : badge('fail', st.consistency.reason),
        ),
      ),
      h('details', {}, h('summary', {}, 'Signed note text'), h('pre', { class: 'body' }, cp.note)),
    );
  }
  clear(main).append(
    h('h2', {}, 'Log integrity'),
    h(
      'p',
      {},
      "Everything here is checked in this browser with WebCrypto: the checkpoint's Ed25519 signature (C2SP signed note), ",
      "its consistency with the checkpoint this browser saw before (RFC 9162 §2.1.4.2), and, on request, every entry's leaf hash and the tree root (RFC 6962).",
    ),
    details,
    h('div', { class: 'toolbar' }, full, ' ', signNew, ' ', forget),
    progress,
    result,
  );
  if (!verifier.state && !verifier.pending) await verifier.refresh();
  if (verifier.pending) await verifier.pending;
  if (seq === renderSeq) drawDetails();
}

// ---------- main ----------

async function render() {
  if (!api) return;
  const seq = ++renderSeq;
  const { view, arg, params } = parseRoute();
  const section = view === 'integrity' ? 'integrity' : 'timeline';
  for (const a of nav.querySelectorAll('a')) {
    if (a.dataset.view === section) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  try {
    if (view === 'job' && arg) await renderJob(seq, arg);
    else if (view === 'entry') await renderEntry(seq, arg);
    else if (view === 'charts') await renderCharts(seq, params);
    else if (view === 'integrity') await renderIntegrity(seq);
    else await renderTimeline(seq, params);
  } catch (e) {
    if (seq === renderSeq) main.append(errorBox(e));
  }
  if (seq === renderSeq) focusHeading();
}

window.addEventListener('hashchange', () => {
  render();
});
signOutButton.addEventListener('click', () => signOut('Signed out.'));
document.getElementById('skip').addEventListener('click', (ev) => {
  ev.preventDefault();
  main.focus();
});

const token = savedToken();
if (token) start(token).catch((e) => showSignIn(`Could not start: ${e.message}`));
else showSignIn();
