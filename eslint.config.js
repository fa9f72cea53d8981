import js from '@eslint/js';
import tseslint from 'typescript-eslint';

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
  {
    files: [
      'libs/he-core/**/*.ts',
      'libs/scenario/**/*.ts',
      'libs/ledger-core/**/*.ts',
      'libs/policy/**/*.ts',
      'libs/dataset/**/*.ts',
      'libs/psi/**/*.ts',
    ],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['@nestjs/*', 'typeorm', 'bullmq', 'ioredis'] }],
    },
  },
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
