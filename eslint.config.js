import { readFileSync, readdirSync } from 'node:fs';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/*
 * Module boundaries (docs/ARCHITECTURE.md). Apps are processes that assemble libs: no app imports another
 * (apps/cli is the composition root and may import them all), and no lib imports an app. A lib is imported only
 * through its alias in package.json `imports` (`#scenario`, ...), never by a path into it. The app and lib lists
 * are read from the tree and from package.json, so a new app or lib is covered without editing this file.
 */
const root = new URL('./', import.meta.url);
const APPS = readdirSync(new URL('apps/', root), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name);
const LIBS = Object.keys(JSON.parse(readFileSync(new URL('package.json', root), 'utf8')).imports).map((alias) => alias.slice(1));
const COMPOSITION_ROOT = 'cli';
const alt = (names) => names.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
const deepLib = [
  {
    regex: '(^|/)libs/',
    message: 'import a lib through its alias in package.json `imports` (#scenario, #contracts, ...), never by a path into libs/',
  },
  { regex: '^#[^/]+/', message: "a lib's alias names the lib; what it exports is in its src/index.ts (no #lib/deep/path)" },
];
const otherLib = (lib) => ({
  regex: `^(\\.\\./)+(${alt(LIBS.filter((l) => l !== lib))})/`,
  message: `import another lib through its alias (#name), never by a path out of libs/${lib}`,
});
const noApps = { regex: '(^|/)apps/', message: 'a lib never imports an app' };
const otherApp = (app) => ({
  regex: `^(\\.\\./)+(apps/)?(${alt(APPS.filter((a) => a !== app))})/`,
  message: `apps/${app} must not import another app: share the contract through a lib (the connector protocol is in #contracts); only apps/${COMPOSITION_ROOT}, the composition root, wires apps together`,
});
/** Libs that import neither Nest, TypeORM, BullMQ nor ioredis. */
const PURE_LIBS = ['he-core', 'scenario', 'ledger-core', 'policy', 'dataset', 'psi', 'jobs'];
const PURE = ['@nestjs/*', 'typeorm', 'bullmq', 'ioredis'].map((group) => ({
  group: [group],
  message: 'a pure lib imports neither Nest, TypeORM, BullMQ nor ioredis',
}));
/** The queue library is the platform's to drive (libs/platform QueueService and its drivers); bench and test may probe it. */
const QUEUE_LIB = 'platform';
const noBullmq = {
  group: ['bullmq', 'bullmq/*'],
  message: "feature code uses the platform's QueueService (#platform: typed by JobItemMap, Task, FatalTaskError), not BullMQ",
};
const boundaries = [
  ...APPS.map((app) => ({
    files: [`apps/${app}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [...deepLib, noAppsOutside(app), ...(app === COMPOSITION_ROOT ? [] : [otherApp(app)]), noBullmq] },
      ],
    },
  })),
  ...LIBS.map((lib) => ({
    files: [`libs/${lib}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [...deepLib, otherLib(lib), noApps, ...(PURE_LIBS.includes(lib) ? PURE : lib === QUEUE_LIB ? [] : [noBullmq])],
        },
      ],
    },
  })),
];
/**
 * An app's entry point (apps/<app>/src/main.ts: what `nest start <app>` runs; every app has one, the evaluation worker
 * included) runs that app through the composition root's bootstrap, as `dataspace serve --apps <app>` does: of another
 * app it may import that one file.
 */
const ENTRY_BOOTSTRAP = 'src/run-apps.js';
const entryPoints = APPS.filter((app) => app !== COMPOSITION_ROOT).map((app) => ({
  files: [`apps/${app}/src/main.ts`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          ...deepLib,
          noAppsOutside(app),
          noBullmq,
          {
            regex: `^(\\.\\./)+(apps/)?((${alt(APPS.filter((a) => a !== app && a !== COMPOSITION_ROOT))})/|${COMPOSITION_ROOT}/(?!${alt([ENTRY_BOOTSTRAP])}$))`,
            message: `an entry point imports of another app only the bootstrap apps/${COMPOSITION_ROOT}/${ENTRY_BOOTSTRAP} (runApps)`,
          },
        ],
      },
    ],
  },
}));
/** From inside apps/<app>, a path that names apps/ (going up past the apps directory) is another app's or a loop. */
function noAppsOutside(app) {
  return { regex: '(^|/)apps/', message: `apps/${app}: reach another app only through the composition root (apps/${COMPOSITION_ROOT})` };
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.data/**', '.tmp/**', 'test-artifacts/**', 'apps/ledger/web/dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  ...boundaries,
  ...entryPoints,
  {
    files: ['apps/ledger/web/**/*.js'],
    languageOptions: {
      globals: Object.fromEntries(
        [
          'window',
          'document',
          'fetch',
          'crypto',
          'TextEncoder',
          'TextDecoder',
          'localStorage',
          'sessionStorage',
          'location',
          'history',
          'console',
          'URL',
          'URLSearchParams',
          'atob',
          'btoa',
          'setTimeout',
          'clearTimeout',
          'HTMLElement',
          'Event',
          'CustomEvent',
          'navigator',
          'requestAnimationFrame',
          'Intl',
          'performance',
          'AbortController',
          'FormData',
          'confirm',
          'Node',
          'alert',
          'Blob',
        ].map((g) => [g, 'readonly']),
      ),
    },
  },
  {
    files: ['**/*.js', 'bin/*', 'scripts/*'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);
